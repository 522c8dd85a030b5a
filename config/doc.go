// Package config turns environment variables into a validated Config. One
// table of variables drives parsing, `gatehouse serve --help` and the README's
// configuration table, so the three cannot drift apart. A bad value stops
// start-up with an error naming the variable, never echoing a secret.
//
// It imports the standard library only.
package config
