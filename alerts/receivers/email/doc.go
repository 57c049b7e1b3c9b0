// Package email sends notifications as plain-text mail over SMTP, with
// STARTTLS by default and implicit TLS (port 465) on request.
package email
