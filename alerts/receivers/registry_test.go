package receivers_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/receivers"
)

// examples holds a minimal configuration for every built-in receiver, as a
// user would write it; a receiver added to Builtin without one fails here.
var examples = map[string]string{
	"webhook":     "url: https://hooks.example.com/swell?token=${SWELL_TEST_SECRET}\nsecret: ${SWELL_TEST_SECRET}\n",
	"dingtalk":    "url: https://oapi.dingtalk.com/robot/send?access_token=${SWELL_TEST_SECRET}\nsecret: ${SWELL_TEST_SECRET}\nmsgType: text\nlang: zh\n",
	"feishu":      "url: https://open.feishu.cn/open-apis/bot/v2/hook/${SWELL_TEST_SECRET}\nsecret: ${SWELL_TEST_SECRET}\n",
	"lark":        "url: https://open.larksuite.com/open-apis/bot/v2/hook/${SWELL_TEST_SECRET}\n",
	"wecom":       "url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${SWELL_TEST_SECRET}\n",
	"slack":       "url: https://hooks.slack.com/services/T0/B0/${SWELL_TEST_SECRET}\n",
	"teams":       "url: https://prod-00.westus.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=${SWELL_TEST_SECRET}\n",
	"telegram":    "botToken: ${SWELL_TEST_SECRET}\nchatID: \"-100123\"\n",
	"email":       "host: smtp.example.com\nusername: a@example.com\npassword: ${SWELL_TEST_SECRET}\nfrom: swell <a@example.com>\nto: [oncall@example.com]\n",
	"sms_http":    "url: https://sms.example.com/send\nheaders: {X-Api-Key: \"${SWELL_TEST_SECRET}\"}\nto: [\"+8613800000000\"]\n",
	"twilio":      "accountSID: AC0123\nauthToken: ${SWELL_TEST_SECRET}\nfrom: \"+15005550006\"\nto: [\"+14155550100\"]\n",
	"aliyun_sms":  "accessKeyID: LTAI5t\naccessKeySecret: ${SWELL_TEST_SECRET}\nsignName: swell\ntemplateCode: SMS_1\nphoneNumbers: [\"13800000000\"]\ntemplateParams: {name: \"{{.CommonLabels.alertname}}\"}\n",
	"tencent_sms": "secretID: AKID1\nsecretKey: ${SWELL_TEST_SECRET}\nsdkAppID: \"1400006666\"\nsignName: swell\ntemplateID: \"1\"\nphoneNumbers: [\"+8613800000000\"]\ntemplateParams: [\"{{tr .Status}}\"]\n",
}

func TestEveryBuiltinBuildsFromYAML(t *testing.T) {
	t.Setenv("SWELL_TEST_SECRET", "r3gistry-s3cr3t")
	builtin := receivers.Builtin()
	if got, want := slices.Sorted(maps.Keys(builtin)), slices.Sorted(maps.Keys(examples)); !slices.Equal(got, want) {
		t.Fatalf("builtin receivers %v, examples for %v", got, want)
	}
	for name, spec := range builtin {
		t.Run(name, func(t *testing.T) {
			var node yaml.Node
			if err := yaml.Unmarshal([]byte(examples[name]), &node); err != nil {
				t.Fatal(err)
			}
			n, err := spec.New(func(c any) error { return node.Decode(c) })
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			if n == nil || spec.Description == "" {
				t.Fatalf("notifier %v, description %q", n, spec.Description)
			}
		})
	}
}

func TestFactoryErrorsAreUntypedNil(t *testing.T) {
	for name, spec := range receivers.Builtin() {
		t.Run(name, func(t *testing.T) {
			var node yaml.Node
			if err := yaml.Unmarshal([]byte("{}"), &node); err != nil {
				t.Fatal(err)
			}
			n, err := spec.New(func(c any) error { return node.Decode(c) })
			if err == nil {
				t.Fatal("an empty configuration was accepted")
			}
			if n != nil {
				t.Fatalf("failed factory returned a non-nil notifier %#v", n)
			}
			if !strings.HasPrefix(err.Error(), name+": ") {
				t.Errorf("error does not say which receiver: %v", err)
			}
		})
	}
}

func TestUnsetSecretVariableFailsDecode(t *testing.T) {
	var node yaml.Node
	if err := yaml.Unmarshal([]byte("url: https://h.example/${SWELL_TEST_UNSET_SECRET}\n"), &node); err != nil {
		t.Fatal(err)
	}
	_, err := receivers.Builtin()["slack"].New(func(c any) error { return node.Decode(c) })
	if err == nil || !strings.Contains(err.Error(), "SWELL_TEST_UNSET_SECRET is not set") {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigDumpNeverShowsSecrets(t *testing.T) {
	const secret = "r3gistry-s3cr3t"
	t.Setenv("SWELL_TEST_SECRET", secret)
	for name, spec := range receivers.Builtin() {
		t.Run(name, func(t *testing.T) {
			var node yaml.Node
			if err := yaml.Unmarshal([]byte(examples[name]), &node); err != nil {
				t.Fatal(err)
			}
			var cfg any
			if _, err := spec.New(func(c any) error { cfg = c; return node.Decode(c) }); err != nil {
				t.Fatal(err)
			}
			ym, err := yaml.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			js, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for how, out := range map[string]string{"yaml": string(ym), "json": string(js), "%+v": fmt.Sprintf("%+v", cfg)} {
				if strings.Contains(out, secret) {
					t.Errorf("%s dump of the %s config shows the secret:\n%s", how, name, out)
				}
			}
			if !strings.Contains(string(js), notify.Mask) {
				t.Errorf("json dump shows no masked secret: %s", js)
			}
		})
	}
}

func TestTemplateFieldsAreDecodedInline(t *testing.T) {
	var node yaml.Node
	if err := yaml.Unmarshal([]byte("url: https://oapi.dingtalk.com/robot/send?access_token=x\nlang: fr\n"), &node); err != nil {
		t.Fatal(err)
	}
	_, err := receivers.Builtin()["dingtalk"].New(func(c any) error { return node.Decode(c) })
	if err == nil || !strings.Contains(err.Error(), `unknown lang "fr"`) {
		t.Fatalf("err = %v, want the inline lang field to be read and rejected", err)
	}
}

func TestSMSReceiversAreMarked(t *testing.T) {
	want := []string{"aliyun_sms", "sms_http", "tencent_sms", "twilio"}
	var got []string
	for name, spec := range receivers.Builtin() {
		if spec.SMS {
			got = append(got, name)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("SMS receivers = %v, want %v", got, want)
	}
}
