// Package tencent_sms sends SMS with Tencent Cloud SMS (SendSms, API
// version 2021-01-11), signed with TC3-HMAC-SHA256.
//
// Tencent Cloud only delivers messages made from a template and a sign
// name approved in its console, so the receiver fills the template's
// parameters in order instead of sending free text.
package tencent_sms //nolint:revive // the folder name is the receiver type users write
