// Package testenv is the shared test environment of Gatehouse's tests: a
// test OpenID issuer on loopback that mints honest and hostile tokens, small
// loopback helpers, and the one rule for tests that need an external server
// (skip with one clear line when it is absent, fail when CI=true).
//
// Only _test.go files import it. It may import anything the tests need (jwx).
package testenv
