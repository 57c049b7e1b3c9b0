// Package slack posts notifications to a Slack incoming webhook as Block
// Kit messages: a header with the title, one section per alert, and a
// plain-text fallback for notifications and old clients.
package slack
