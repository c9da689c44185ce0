package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/template"

	"github.com/prometheus/common/helpers/templates"
)

// templateFuncs are the helpers annotation templates may use, named as in
// Prometheus.
var templateFuncs = template.FuncMap{
	"humanize": func(v any) (string, error) {
		f, err := templates.ConvertToFloat(v)
		if err != nil {
			return "", err
		}
		return humanize(f), nil
	},
	"humanizePercentage": func(v any) (string, error) {
		f, err := templates.ConvertToFloat(v)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%.4g%%", f*100), nil
	},
	"humanizeDuration":  templates.HumanizeDuration,
	"humanizeTimestamp": templates.HumanizeTimestamp,
	"toUpper":           strings.ToUpper,
	"toLower":           strings.ToLower,
}

// humanize renders a number with an SI prefix, as Prometheus's humanize.
func humanize(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v)
	}
	if math.Abs(v) >= 1 {
		prefix := ""
		for _, p := range []string{"k", "M", "G", "T", "P", "E", "Z", "Y"} {
			if math.Abs(v) < 1000 {
				break
			}
			prefix = p
			v /= 1000
		}
		return fmt.Sprintf("%.4g%s", v, prefix)
	}
	prefix := ""
	for _, p := range []string{"m", "u", "n", "p", "f", "a", "z", "y"} {
		if math.Abs(v) >= 1 {
			break
		}
		prefix = p
		v *= 1000
	}
	return fmt.Sprintf("%.4g%s", v, prefix)
}

// templateHeader defines $labels and $value as Prometheus does, so
// annotations written for Prometheus render the same here.
const templateHeader = "{{$labels := .Labels}}{{$value := .Value}}{{$externalLabels := .ExternalLabels}}"

type templateData struct {
	Labels         map[string]string
	Value          float64
	ExternalLabels map[string]string
}

func parseTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Funcs(templateFuncs).Option("missingkey=zero").Parse(templateHeader + text)
}

// expand renders an annotation; a template error becomes the annotation's
// text so the operator sees what went wrong instead of an empty field.
func expand(name, text string, lbls map[string]string, value float64) string {
	t, err := parseTemplate(name, text)
	if err != nil {
		return "<error expanding template: " + err.Error() + ">"
	}
	var b strings.Builder
	if err := t.Execute(&b, templateData{Labels: lbls, Value: value}); err != nil {
		return "<error expanding template: " + err.Error() + ">"
	}
	return b.String()
}

// FormatValue renders a sample value the way alert descriptions usually
// want it.
func FormatValue(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
