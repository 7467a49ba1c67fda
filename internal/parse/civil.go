package parse

import "time"

// unixFromCivil returns the seconds since the epoch of a proleptic Gregorian
// date and time in UTC, with out-of-range days and seconds rolling over as
// time.Date's do. It is the days-from-civil algorithm (H. Hinnant): integer
// arithmetic only, several times cheaper than time.Date's normalisation.
func unixFromCivil(y, mo, d, hh, mm, ss int) int64 {
	if mo <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	m := mo + 9
	if mo > 2 {
		m = mo - 3
	}
	doy := (153*m+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := int64(era)*146097 + int64(doe) - 719468
	return days*86400 + int64(hh*3600+mm*60+ss)
}

// date builds the instant of a wall-clock reading in the parser's zone,
// returned in UTC.
func (p *Parser) date(y, mo, d, hh, mm, ss, ns int) time.Time {
	if p.loc == time.UTC {
		return time.Unix(unixFromCivil(y, mo, d, hh, mm, ss), int64(ns)).UTC()
	}
	return time.Date(y, time.Month(mo), d, hh, mm, ss, ns, p.loc).UTC()
}
