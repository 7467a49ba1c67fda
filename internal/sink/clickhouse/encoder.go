package clickhouse

import (
	"github.com/ClickHouse/ch-go/proto"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// named is a column of a table under its ClickHouse name.
type named struct {
	name string
	col  wireCol
}

// block is rows of one table as typed native columns, sent as one block.
type block interface {
	rows() int
	columns() []named
}

// tableRows is what a batch holds of one table, appended to event by
// event (no per-value conversion or interface).
type tableRows interface {
	block
	add(e *parse.Event) // batch_id is filled in when the batch is sealed
	reset()
	// idAndRaw are the event_id and raw columns, which the content hash reads.
	idAndRaw() (*fixed16, *strCol)
}

// input is the block for ch-go.
func input(t block) proto.Input {
	cols := t.columns()
	in := make(proto.Input, len(cols))
	for i, c := range cols {
		in[i] = proto.InputColumn{Name: c.name, Data: c.col}
	}
	return in
}

// eventRows are dcf_events rows; the columns match eventColumns, in
// order (TestEncoderCoversSchema checks).
type eventRows struct {
	eventID, batchID                                 fixed16
	receivedAt, eventTime                            dt64
	timeSource, listener, transport                  lcStr
	peerIP                                           ipCol
	peerPort                                         u16Col
	kind, parseStatus                                lcStr
	parseError                                       strCol
	flags                                            lcArr
	syslogFormat                                     lcStr
	facility, severity                               u8Col
	hostname, gateway                                lcStr
	gatewayIP                                        ipCol
	app                                              lcStr
	procID, msgID                                    strCol
	ruleUUID, ruleName                               lcStr
	rulePriority                                     u32Col
	scenario                                         lcStr
	srcGroups, dstGroups                             lcArr
	webGroup, decryptedBy, action, actionRaw         lcStr
	enforced                                         nullU8
	proto                                            lcStr
	srcIP                                            ipCol
	srcPort                                          u16Col
	dstIP                                            ipCol
	dstPort                                          u16Col
	srcMAC, dstMAC                                   strCol
	ipSize                                           u32Col
	payload, sni, url                                strCol
	sessionID                                        u64Col
	sessionUUID                                      strCol
	sessionEvent, sessionEndReason                   u8Col
	sessionPkts, sessionBytes, sessionDuration       u64Col
	sessionStartNs, sessionTimeNs                    i64Col
	sessionStage, l7Reason, l7Stage                  lcStr
	ids                                              u8Col
	signatureID, l7Priority                          lcStr
	l7Message                                        strCol
	requestBytes, responseBytes                      u64Col
	fqdnGateway, fqdnState, fqdnDropReason, fqdnRule lcStr
	repeatCount                                      u32Col
	extraKeys, extraValues                           strArr
	raw                                              strCol
	ruleAction                                       lcStr
	ruleTags                                         lcArr
	admittingWebGroup                                lcStr
	wouldBeDenied                                    u8Col
	catalogVersion                                   lcStr
	flowID                                           u64Col
	appProto, alertSignature, alertCategory          lcStr
	alertSeverity                                    u8Col
	srcWorkload                                      lcStr
	text                                             textScratch
}

// textScratch formats values that are stored as text (UUIDs, parse
// errors, flag names) without allocating.
type textScratch struct {
	buf   [256]byte
	flags []string
}

func (t *eventRows) add(e *parse.Event) {
	t.eventID.Append(e.EventID)
	t.batchID.Append([16]byte{})
	t.receivedAt.add(e.ReceivedAt)
	t.eventTime.add(e.EventTime)
	t.timeSource.add(e.TimeSource.String())
	t.listener.add(e.Listener)
	t.transport.add(e.Transport)
	t.peerIP.add(e.Peer.Addr())
	t.peerPort.Append(e.Peer.Port())
	t.kind.add(e.Kind.String())
	t.parseStatus.add(e.Status.String())
	t.parseError.AppendBytes(t.text.parseError(e))
	t.flags.add(t.text.flagNames(e.Flags))
	t.syslogFormat.add(e.Format.String())
	t.facility.Append(e.Facility)
	t.severity.Append(e.Severity)
	t.hostname.addBytes(e.Hostname)
	t.gateway.addBytes(e.Gateway)
	t.gatewayIP.add(e.GatewayIP)
	t.app.addBytes(e.App)
	t.procID.AppendBytes(e.ProcID)
	t.msgID.AppendBytes(e.MsgID)
	t.ruleUUID.addBytes(t.text.uuid(e, parse.HasRuleUUID, &e.RuleUUID))
	t.ruleName.add(e.Enriched.RuleName)
	t.rulePriority.Append(e.Enriched.RulePriority)
	t.scenario.add(e.Enriched.Scenario)
	t.srcGroups.add(e.Enriched.SrcGroups)
	t.dstGroups.add(e.Enriched.DstGroups)
	t.webGroup.add(e.Enriched.WebGroup)
	t.decryptedBy.addBytes(t.text.uuid(e, parse.HasDecryptedBy, &e.DecryptedBy))
	t.action.addBytes(actionName(e))
	t.actionRaw.addBytes(e.ActionRaw)
	t.enforced.add(b2u(e.Enforced), e.Has&parse.HasEnforced != 0)
	t.proto.addBytes(e.Proto)
	t.srcIP.add(e.SrcIP)
	t.srcPort.Append(e.SrcPort)
	t.dstIP.add(e.DstIP)
	t.dstPort.Append(e.DstPort)
	t.srcMAC.AppendBytes(e.SrcMAC)
	t.dstMAC.AppendBytes(e.DstMAC)
	t.ipSize.Append(e.IPSize)
	t.payload.AppendBytes(e.Payload)
	t.sni.AppendBytes(e.SNI)
	t.url.AppendBytes(e.URL)
	t.sessionID.Append(e.SessionID)
	t.sessionUUID.AppendBytes(e.SessionUUID)
	t.sessionEvent.Append(e.SessionEvent)
	t.sessionEndReason.Append(e.SessionEndReason)
	t.sessionPkts.Append(e.SessionPkts)
	t.sessionBytes.Append(e.SessionBytes)
	t.sessionDuration.Append(e.SessionDuration)
	t.sessionStartNs.Append(e.SessionStart)
	t.sessionTimeNs.Append(e.SessionTime)
	t.sessionStage.addBytes(e.SessionStage)
	t.l7Reason.addBytes(e.L7Reason)
	t.l7Stage.addBytes(e.L7Stage)
	t.ids.Append(b2u(e.IDS))
	t.signatureID.addBytes(e.SignatureID)
	t.l7Priority.addBytes(e.L7Priority)
	t.l7Message.AppendBytes(e.L7Message)
	t.requestBytes.Append(e.RequestBytes)
	t.responseBytes.Append(e.ResponseBytes)
	t.fqdnGateway.addBytes(e.FQDNGateway)
	t.fqdnState.addBytes(e.FQDNState)
	t.fqdnDropReason.addBytes(e.FQDNDropReason)
	t.fqdnRule.addBytes(e.FQDNRule)
	t.repeatCount.Append(e.RepeatCount)
	for _, f := range e.Extra {
		t.extraKeys.elems.AppendBytes(f.Key)
		t.extraValues.elems.AppendBytes(f.Value)
	}
	t.extraKeys.endRow()
	t.extraValues.endRow()
	t.raw.AppendBytes(e.Raw)
	t.ruleAction.add(e.Enriched.RuleAction)
	t.ruleTags.add(e.Enriched.Tags)
	t.admittingWebGroup.add(e.Enriched.AdmittingWebGroup)
	t.wouldBeDenied.Append(b2u(e.Enriched.WouldBeDenied))
	t.catalogVersion.add(e.Enriched.CatalogVersion)
	t.flowID.Append(e.FlowID)
	t.appProto.addBytes(e.AppProto)
	t.alertSignature.addBytes(e.AlertSignature)
	t.alertCategory.addBytes(e.AlertCategory)
	t.alertSeverity.Append(e.AlertSeverity)
	t.srcWorkload.add(e.Enriched.SrcWorkload)
}

func (t *eventRows) rows() int { return t.eventID.Rows() }

func (t *eventRows) idAndRaw() (*fixed16, *strCol) { return &t.eventID, &t.raw }

func (t *eventRows) columns() []named {
	return []named{
		{"event_id", &t.eventID}, {"batch_id", &t.batchID},
		{"received_at", &t.receivedAt}, {"event_time", &t.eventTime},
		{"time_source", &t.timeSource}, {"listener", &t.listener}, {"transport", &t.transport},
		{"peer_ip", &t.peerIP}, {"peer_port", &t.peerPort},
		{"kind", &t.kind}, {"parse_status", &t.parseStatus}, {"parse_error", &t.parseError},
		{"flags", &t.flags}, {"syslog_format", &t.syslogFormat},
		{"facility", &t.facility}, {"severity", &t.severity},
		{"hostname", &t.hostname}, {"gateway", &t.gateway}, {"gateway_ip", &t.gatewayIP},
		{"app", &t.app}, {"proc_id", &t.procID}, {"msg_id", &t.msgID},
		{"rule_uuid", &t.ruleUUID}, {"rule_name", &t.ruleName}, {"rule_priority", &t.rulePriority},
		{"scenario", &t.scenario}, {"src_groups", &t.srcGroups}, {"dst_groups", &t.dstGroups},
		{"web_group", &t.webGroup}, {"decrypted_by", &t.decryptedBy},
		{"action", &t.action}, {"action_raw", &t.actionRaw}, {"enforced", &t.enforced},
		{"proto", &t.proto}, {"src_ip", &t.srcIP}, {"src_port", &t.srcPort},
		{"dst_ip", &t.dstIP}, {"dst_port", &t.dstPort},
		{"src_mac", &t.srcMAC}, {"dst_mac", &t.dstMAC}, {"ip_size", &t.ipSize},
		{"payload", &t.payload}, {"sni", &t.sni}, {"url", &t.url},
		{"session_id", &t.sessionID}, {"session_uuid", &t.sessionUUID},
		{"session_event", &t.sessionEvent}, {"session_end_reason", &t.sessionEndReason},
		{"session_pkts", &t.sessionPkts}, {"session_bytes", &t.sessionBytes}, {"session_duration", &t.sessionDuration},
		{"session_start_ns", &t.sessionStartNs}, {"session_time_ns", &t.sessionTimeNs},
		{"session_stage", &t.sessionStage}, {"l7_reason", &t.l7Reason}, {"l7_stage", &t.l7Stage},
		{"ids", &t.ids}, {"signature_id", &t.signatureID}, {"l7_priority", &t.l7Priority}, {"l7_message", &t.l7Message},
		{"request_bytes", &t.requestBytes}, {"response_bytes", &t.responseBytes},
		{"fqdn_gateway", &t.fqdnGateway}, {"fqdn_state", &t.fqdnState},
		{"fqdn_drop_reason", &t.fqdnDropReason}, {"fqdn_rule", &t.fqdnRule},
		{"repeat_count", &t.repeatCount}, {"extra_keys", &t.extraKeys}, {"extra_values", &t.extraValues},
		{"raw", &t.raw},
		{"rule_action", &t.ruleAction}, {"rule_tags", &t.ruleTags}, {"admitting_web_group", &t.admittingWebGroup},
		{"would_be_denied", &t.wouldBeDenied}, {"catalog_version", &t.catalogVersion},
		{"flow_id", &t.flowID}, {"app_proto", &t.appProto}, {"alert_signature", &t.alertSignature},
		{"alert_category", &t.alertCategory}, {"alert_severity", &t.alertSeverity}, {"src_workload", &t.srcWorkload},
	}
}

func (t *eventRows) reset() {
	for _, c := range t.columns() {
		c.col.Reset()
	}
}

// unparsedRows are raw_unparsed rows; the columns match unparsedColumns.
type unparsedRows struct {
	eventID, batchID    fixed16
	receivedAt          dt64
	listener, transport lcStr
	peerIP              ipCol
	peerPort            u16Col
	parseStatus         lcStr
	parseError          strCol
	flags               lcArr
	hostname            lcStr
	raw                 strCol
	text                textScratch
}

func (t *unparsedRows) add(e *parse.Event) {
	t.eventID.Append(e.EventID)
	t.batchID.Append([16]byte{})
	t.receivedAt.add(e.ReceivedAt)
	t.listener.add(e.Listener)
	t.transport.add(e.Transport)
	t.peerIP.add(e.Peer.Addr())
	t.peerPort.Append(e.Peer.Port())
	t.parseStatus.add(e.Status.String())
	t.parseError.AppendBytes(t.text.parseError(e))
	t.flags.add(t.text.flagNames(e.Flags))
	t.hostname.addBytes(e.Hostname)
	t.raw.AppendBytes(e.Raw)
}

func (t *unparsedRows) rows() int { return t.eventID.Rows() }

func (t *unparsedRows) idAndRaw() (*fixed16, *strCol) { return &t.eventID, &t.raw }

func (t *unparsedRows) columns() []named {
	return []named{
		{"event_id", &t.eventID}, {"batch_id", &t.batchID}, {"received_at", &t.receivedAt},
		{"listener", &t.listener}, {"transport", &t.transport},
		{"peer_ip", &t.peerIP}, {"peer_port", &t.peerPort},
		{"parse_status", &t.parseStatus}, {"parse_error", &t.parseError},
		{"flags", &t.flags}, {"hostname", &t.hostname}, {"raw", &t.raw},
	}
}

func (t *unparsedRows) reset() {
	for _, c := range t.columns() {
		c.col.Reset()
	}
}

func (s *textScratch) parseError(e *parse.Event) []byte {
	if e.Reason == parse.ReasonNone {
		return nil
	}
	return e.AppendError(s.buf[:0])
}

func (s *textScratch) flagNames(f parse.Flag) []string {
	if f == 0 {
		return nil
	}
	s.flags = f.AppendNames(s.flags[:0])
	return s.flags
}

// uuid is a UUID field as text, or nothing when the event lacks it.
func (s *textScratch) uuid(e *parse.Event, has parse.Has, u *parse.UUID) []byte {
	if e.Has&has == 0 {
		return nil
	}
	return parse.AppendUUID(s.buf[:0], *u)
}

func actionName(e *parse.Event) []byte {
	switch e.Action {
	case parse.ActionPermit:
		return permit
	case parse.ActionDeny:
		return deny
	}
	return e.ActionRaw
}

var permit, deny = []byte("PERMIT"), []byte("DENY")

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
