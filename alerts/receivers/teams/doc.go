// Package teams posts notifications to a Microsoft Teams channel through a
// Workflows ("Post to a channel when a webhook request is received")
// webhook, as an Adaptive Card.
//
// Teams' older Office 365 connector webhooks and their MessageCard format
// were retired by Microsoft (connectors stopped on 31 March 2026); the
// Workflows webhook with an Adaptive Card attachment is the documented way
// now, so that is the only format this receiver sends.
package teams
