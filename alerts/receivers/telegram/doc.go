// Package telegram sends notifications with the Telegram Bot API's
// sendMessage method.
package telegram
