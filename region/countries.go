package region

// countryCodes are the ITU-T E.164 country calling codes (ITU-T Rec. E.164
// Annex to ITU OB 1125, as in force in 2026) with the ISO 3166-1 alpha-2
// code of the country or area they serve. Longer entries refine a shared
// code (NANP area codes, Kazakhstan inside +7, Åland inside +358, ...);
// the longest matching prefix wins. An empty ISO code marks a
// non-geographic code (international freephone, satellite networks, ...).
// Kosovo (+383) uses the user-assigned XK, as most software does.
var countryCodes = [...]struct{ code, iso string }{
	// Zone 1: the North American Numbering Plan. +1 alone is the US; the
	// area codes below belong to Canada and to the Caribbean members.
	{"1", "US"},
	{"1204", "CA"}, {"1226", "CA"}, {"1236", "CA"}, {"1249", "CA"}, {"1250", "CA"}, {"1257", "CA"},
	{"1263", "CA"}, {"1289", "CA"}, {"1306", "CA"}, {"1343", "CA"}, {"1354", "CA"}, {"1365", "CA"},
	{"1367", "CA"}, {"1368", "CA"}, {"1382", "CA"}, {"1387", "CA"}, {"1403", "CA"}, {"1416", "CA"},
	{"1418", "CA"}, {"1428", "CA"}, {"1431", "CA"}, {"1437", "CA"}, {"1438", "CA"}, {"1450", "CA"},
	{"1460", "CA"}, {"1468", "CA"}, {"1474", "CA"}, {"1506", "CA"}, {"1514", "CA"}, {"1519", "CA"},
	{"1537", "CA"}, {"1548", "CA"}, {"1579", "CA"}, {"1581", "CA"}, {"1584", "CA"}, {"1587", "CA"},
	{"1604", "CA"}, {"1613", "CA"}, {"1639", "CA"}, {"1647", "CA"}, {"1672", "CA"}, {"1683", "CA"},
	{"1705", "CA"}, {"1709", "CA"}, {"1742", "CA"}, {"1753", "CA"}, {"1778", "CA"}, {"1780", "CA"},
	{"1782", "CA"}, {"1807", "CA"}, {"1819", "CA"}, {"1825", "CA"}, {"1867", "CA"}, {"1873", "CA"},
	{"1879", "CA"}, {"1902", "CA"}, {"1905", "CA"}, {"1942", "CA"},
	{"1242", "BS"}, {"1246", "BB"}, {"1264", "AI"}, {"1268", "AG"}, {"1284", "VG"}, {"1340", "VI"},
	{"1345", "KY"}, {"1441", "BM"}, {"1473", "GD"}, {"1649", "TC"}, {"1658", "JM"}, {"1664", "MS"},
	{"1670", "MP"}, {"1671", "GU"}, {"1684", "AS"}, {"1721", "SX"}, {"1758", "LC"}, {"1767", "DM"},
	{"1784", "VC"}, {"1787", "PR"}, {"1809", "DO"}, {"1829", "DO"}, {"1849", "DO"}, {"1868", "TT"},
	{"1869", "KN"}, {"1876", "JM"}, {"1939", "PR"},

	// Zone 2: mostly Africa.
	{"20", "EG"}, {"211", "SS"}, {"212", "MA"}, {"213", "DZ"}, {"216", "TN"}, {"218", "LY"},
	{"220", "GM"}, {"221", "SN"}, {"222", "MR"}, {"223", "ML"}, {"224", "GN"}, {"225", "CI"},
	{"226", "BF"}, {"227", "NE"}, {"228", "TG"}, {"229", "BJ"}, {"230", "MU"}, {"231", "LR"},
	{"232", "SL"}, {"233", "GH"}, {"234", "NG"}, {"235", "TD"}, {"236", "CF"}, {"237", "CM"},
	{"238", "CV"}, {"239", "ST"}, {"240", "GQ"}, {"241", "GA"}, {"242", "CG"}, {"243", "CD"},
	{"244", "AO"}, {"245", "GW"}, {"246", "IO"}, {"247", "SH"}, {"248", "SC"}, {"249", "SD"},
	{"250", "RW"}, {"251", "ET"}, {"252", "SO"}, {"253", "DJ"}, {"254", "KE"}, {"255", "TZ"},
	{"256", "UG"}, {"257", "BI"}, {"258", "MZ"}, {"260", "ZM"}, {"261", "MG"},
	{"262", "RE"}, {"262269", "YT"}, {"262639", "YT"},
	{"263", "ZW"}, {"264", "NA"}, {"265", "MW"}, {"266", "LS"}, {"267", "BW"}, {"268", "SZ"},
	{"269", "KM"}, {"27", "ZA"}, {"290", "SH"}, {"291", "ER"}, {"297", "AW"}, {"298", "FO"},
	{"299", "GL"},

	// Zones 3 and 4: Europe.
	{"30", "GR"}, {"31", "NL"}, {"32", "BE"}, {"33", "FR"}, {"34", "ES"}, {"350", "GI"},
	{"351", "PT"}, {"352", "LU"}, {"353", "IE"}, {"354", "IS"}, {"355", "AL"}, {"356", "MT"},
	{"357", "CY"}, {"358", "FI"}, {"35818", "AX"}, {"359", "BG"}, {"36", "HU"}, {"370", "LT"},
	{"371", "LV"}, {"372", "EE"}, {"373", "MD"}, {"374", "AM"}, {"375", "BY"}, {"376", "AD"},
	{"377", "MC"}, {"378", "SM"}, {"379", "VA"}, {"380", "UA"}, {"381", "RS"}, {"382", "ME"},
	{"383", "XK"}, {"385", "HR"}, {"386", "SI"}, {"387", "BA"}, {"389", "MK"},
	{"39", "IT"}, {"3906698", "VA"},
	{"40", "RO"}, {"41", "CH"}, {"420", "CZ"}, {"421", "SK"}, {"423", "LI"}, {"43", "AT"},
	{"44", "GB"}, {"441481", "GG"}, {"441534", "JE"}, {"441624", "IM"},
	{"45", "DK"}, {"46", "SE"}, {"47", "NO"}, {"4779", "SJ"}, {"48", "PL"}, {"49", "DE"},

	// Zone 5: South and Central America.
	{"500", "FK"}, {"501", "BZ"}, {"502", "GT"}, {"503", "SV"}, {"504", "HN"}, {"505", "NI"},
	{"506", "CR"}, {"507", "PA"}, {"508", "PM"}, {"509", "HT"}, {"51", "PE"}, {"52", "MX"},
	{"53", "CU"}, {"54", "AR"}, {"55", "BR"}, {"56", "CL"}, {"57", "CO"}, {"58", "VE"},
	{"590", "GP"}, {"591", "BO"}, {"592", "GY"}, {"593", "EC"}, {"594", "GF"}, {"595", "PY"},
	{"596", "MQ"}, {"597", "SR"}, {"598", "UY"},
	{"599", "CW"}, {"5993", "BQ"}, {"5994", "BQ"}, {"5997", "BQ"},

	// Zone 6: South-east Asia and Oceania.
	{"60", "MY"}, {"61", "AU"}, {"6189162", "CC"}, {"6189164", "CX"}, {"62", "ID"}, {"63", "PH"},
	{"64", "NZ"}, {"65", "SG"}, {"66", "TH"}, {"670", "TL"}, {"672", "NF"}, {"6721", "AQ"},
	{"673", "BN"}, {"674", "NR"}, {"675", "PG"}, {"676", "TO"}, {"677", "SB"}, {"678", "VU"},
	{"679", "FJ"}, {"680", "PW"}, {"681", "WF"}, {"682", "CK"}, {"683", "NU"}, {"685", "WS"},
	{"686", "KI"}, {"687", "NC"}, {"688", "TV"}, {"689", "PF"}, {"690", "TK"}, {"691", "FM"},
	{"692", "MH"},

	// Zone 7: Russia and Kazakhstan.
	{"7", "RU"}, {"76", "KZ"}, {"77", "KZ"},

	// Zone 8: East Asia and international services.
	{"800", ""}, {"808", ""}, {"81", "JP"}, {"82", "KR"}, {"84", "VN"}, {"850", "KP"},
	{"852", "HK"}, {"853", "MO"}, {"855", "KH"}, {"856", "LA"}, {"86", "CN"}, {"870", ""},
	{"878", ""}, {"880", "BD"}, {"881", ""}, {"882", ""}, {"883", ""}, {"886", "TW"}, {"888", ""},

	// Zone 9: West, Central and South Asia, the Middle East.
	{"90", "TR"}, {"91", "IN"}, {"92", "PK"}, {"93", "AF"}, {"94", "LK"}, {"95", "MM"},
	{"960", "MV"}, {"961", "LB"}, {"962", "JO"}, {"963", "SY"}, {"964", "IQ"}, {"965", "KW"},
	{"966", "SA"}, {"967", "YE"}, {"968", "OM"}, {"970", "PS"}, {"971", "AE"}, {"972", "IL"},
	{"973", "BH"}, {"974", "QA"}, {"975", "BT"}, {"976", "MN"}, {"977", "NP"}, {"979", ""},
	{"98", "IR"}, {"991", ""}, {"992", "TJ"}, {"993", "TM"}, {"994", "AZ"}, {"995", "GE"},
	{"996", "KG"}, {"998", "UZ"},
}

// callingCodes are the country calling codes proper (1-3 digits), so a
// match can say which code a refinement such as "1204" belongs to.
func callingCodeOf(prefix string) string {
	switch prefix[0] {
	case '1', '7':
		return prefix[:1]
	}
	// Two-digit codes; everything else in these zones has three digits.
	if len(prefix) >= 2 {
		switch prefix[:2] {
		case "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
			"47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
			"64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98":
			return prefix[:2]
		}
	}
	if len(prefix) >= 3 {
		return prefix[:3]
	}
	return prefix
}

// nanp lists the ISO codes of the NANP's members, which dial 011 abroad
// and 1 as their trunk prefix.
var nanp = map[string]bool{
	"US": true, "CA": true, "AG": true, "AI": true, "AS": true, "BB": true, "BM": true, "BS": true,
	"DM": true, "DO": true, "GD": true, "GU": true, "JM": true, "KN": true, "KY": true, "LC": true,
	"MP": true, "MS": true, "PR": true, "SX": true, "TC": true, "TT": true, "VC": true, "VG": true,
	"VI": true,
}

// dialPlans are the national dialling rules that differ from the common
// ones (international prefix 00, trunk prefix 0): countries whose national
// numbers keep their leading 0, and those with another trunk or
// international prefix.
var dialPlans = map[string]dialPlan{
	"IT": {intl: "00", keepZero: true}, "SM": {intl: "00", keepZero: true}, "VA": {intl: "00", keepZero: true},
	"RU": {intl: "810", trunk: "8"}, "KZ": {intl: "810", trunk: "8"}, "BY": {intl: "810", trunk: "8"},
	"JP": {intl: "010", trunk: "0"}, "AU": {intl: "0011", trunk: "0"}, "HK": {intl: "001"}, "SG": {intl: "000"},
	"ES": {intl: "00"}, "PT": {intl: "00"}, "GR": {intl: "00"}, "DK": {intl: "00"}, "NO": {intl: "00"},
	"IS": {intl: "00"}, "LU": {intl: "00"}, "MT": {intl: "00"}, "CY": {intl: "00"}, "MC": {intl: "00"},
}

type dialPlan struct {
	intl     string // international call prefix
	trunk    string // national trunk prefix, dropped before the country code goes on
	keepZero bool   // national numbers keep their leading 0 after the country code
}
