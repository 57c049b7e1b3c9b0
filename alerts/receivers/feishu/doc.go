// Package feishu sends notifications to a Feishu group through a custom
// bot webhook, and to Lark (the international edition, larksuite.com) with
// the same code: the two differ only in host.
//
// Feishu answers HTTP 200 even when it rejects a message; the verdict is
// the code in the JSON body.
package feishu
