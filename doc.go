// Package gatehouse holds the vocabulary shared by every part of Gatehouse: the
// request a door hands to the decision core, the identity an authenticator
// proves, the decision the core returns, the typed reason codes callers can
// branch on, and the small interfaces the core consumes.
//
// It imports the standard library only; every other package imports it.
package gatehouse
