// Package twilio sends SMS with Twilio's Programmable Messaging API: one
// POST of a form to Accounts/{AccountSid}/Messages.json per recipient,
// authenticated with HTTP basic auth.
package twilio
