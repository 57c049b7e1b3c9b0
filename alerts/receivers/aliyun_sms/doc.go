// Package aliyun_sms sends SMS with Alibaba Cloud's SMS service (SendSms,
// API version 2017-05-25), signed with the RPC signature: HMAC-SHA1 over
// "GET&%2F&" + the percent-encoded, sorted query.
//
// Alibaba Cloud only delivers messages made from a template and a sign name
// approved in its console, so the receiver fills that template's parameters
// instead of sending free text.
package aliyun_sms //nolint:revive // the folder name is the receiver type users write
