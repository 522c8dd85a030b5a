// Package decision is the decision core: it turns one gatehouse.Request into
// one gatehouse.Decision in named phases — route → identity → policy →
// response — and fails closed by construction: Decide has no error return,
// every failure becomes a deny (401 for identity, 403 for authorization, 503
// when Gatehouse itself could not decide), and a panic anywhere below it is a
// 503 too.
//
// It imports the domain package only; doors call it, and cmd hands it the
// authenticator chain and the policy engine through the small interfaces
// declared here.
package decision
