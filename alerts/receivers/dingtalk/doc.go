// Package dingtalk sends notifications to a DingTalk group through a custom
// robot webhook, signed when the robot has a signing secret.
//
// DingTalk answers HTTP 200 even when it rejects a message; the verdict is
// the errcode in the JSON body, so that is what decides success here.
package dingtalk
