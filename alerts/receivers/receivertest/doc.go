// Package receivertest is what the receiver tests share: an httptest
// server that records requests and answers from a script, golden-file
// comparison, a sample notification, and leak checks for secrets.
package receivertest
