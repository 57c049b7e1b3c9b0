// Package wecom sends notifications to a WeCom (企业微信) group robot.
//
// Like DingTalk, WeCom answers HTTP 200 to rejected messages and reports
// the verdict in errcode.
package wecom
