package ingest

import "strconv"

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
func fmtInt(v int64) string     { return strconv.FormatInt(v, 10) }
