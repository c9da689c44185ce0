package rules

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/template"
)

// templateHeader defines $labels, $externalLabels, $externalURL and
// $value as Prometheus's rules do, so annotations written for Prometheus
// render the same here.
const templateHeader = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

// errNoQuery is what the query function answers where no evaluation is
// under way (alerts restored at start; their annotations are rendered
// again at the next evaluation).
var errNoQuery = errors.New("query is not available outside a rule evaluation")

func noQuery(context.Context, string, time.Time) (promql.Vector, error) { return nil, errNoQuery }

// expander is Prometheus's template expander (github.com/prometheus/
// prometheus/template) for one annotation: its functions (humanize,
// humanizePercentage, humanizeDuration, query, first, label, value,
// toUpper, reReplaceAll ...) and its missingkey=zero. queryFn runs the
// templates' query calls at now (nil: none available).
func expander(ctx context.Context, name, text string, data any, now time.Time, queryFn template.QueryFunc) *template.Expander {
	if queryFn == nil {
		queryFn = noQuery
	}
	return template.NewTemplateExpander(ctx, templateHeader+text, name, data, model.TimeFromUnixNano(now.UnixNano()), queryFn, &url.URL{}, nil)
}

// checkTemplate parses an annotation as expand will, for validation.
func checkTemplate(name, text string) error {
	return expander(context.Background(), name, text, nil, time.Time{}, nil).ParseTest()
}

// expand renders an annotation; a template error becomes the annotation's
// text so the operator sees what went wrong instead of an empty field.
func expand(ctx context.Context, name, text string, lbls map[string]string, value float64, now time.Time, queryFn template.QueryFunc) string {
	data := template.AlertTemplateData(lbls, nil, "", promql.Sample{F: value})
	out, err := expander(ctx, name, text, data, now, queryFn).Expand()
	if err != nil {
		// Prometheus wraps text/template's error in "error parsing
		// template <name>: "; the text/template error alone is what this
		// field always showed.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return "<error expanding template: " + err.Error() + ">"
	}
	return out
}

// FormatValue renders a sample value the way alert descriptions usually
// want it.
func FormatValue(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
