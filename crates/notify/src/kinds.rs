//! Every message the DKIM manager and the monitor send, and its text. Texts live here and only
//! here, so both functions speak with one voice; each kind has a golden file in
//! `tests/golden/`.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::message::{Context, DnsRecordBlock, Notification, Route, Severity, format_time, links};

/// One message kind with its (public) data. Never holds key material: public keys appear
/// only as the DNS record to paste and as fingerprints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    // ---- DKIM manager ----
    /// A new key's TXT record must be published.
    DnsRecordRequest {
        selector: String,
        record: DnsRecordBlock,
    },
    /// SES now signs with the selector.
    ByodkimApplied {
        selector: String,
        status: String,
        retire_after_days: u32,
    },
    /// The apply failed; `rolled_back` says whether the previous attributes were restored.
    ByodkimApplyFailed {
        selector: String,
        cause: String,
        restored: String,
        rolled_back: bool,
    },

    // ---- monitor: keys ----
    /// The key in use expires within the alert window (or has expired: `days_left` < 0).
    KeyExpiry {
        selector: String,
        expires_at: Timestamp,
        days_left: i64,
        successor: Option<String>,
    },
    /// `BYODKIM_ROTATION_MODE=AUTO`: the monitor asked the DKIM manager for a successor key.
    RotationRequested {
        selector: String,
        new_selector: Option<String>,
    },

    // ---- monitor: SES ----
    /// SES's DKIM status is not SUCCESS (FAILED, TEMPORARY_FAILURE, NOT_STARTED, …).
    SesDkimStatus {
        status: String,
        selector: Option<String>,
    },
    /// SES has been PENDING; SES stops looking for the record after 72 hours.
    SesDkimPending {
        selector: Option<String>,
        pending_hours: Option<i64>,
    },
    /// We applied BYODKIM but SES does not sign with our EXTERNAL key.
    SesSigningOrigin {
        origin: Option<String>,
        tokens: Vec<String>,
        expected_selector: String,
    },
    /// DKIM signing is disabled on the identity.
    SesSigningDisabled {
        origin: Option<String>,
    },

    // ---- monitor: DNS ----
    /// The TXT record of the selector SES signs with does not hold our key.
    DnsKeyMismatch {
        selector: String,
        record_name: String,
        status: String,
        detail: String,
    },
    /// A retired selector's TXT record is still published after its retire date.
    RetiredSelectorPublished {
        selector: String,
        record_name: String,
        removable_since: Timestamp,
    },

    // ---- monitor: sending health (24 h) ----
    BounceRate {
        percent: f64,
        threshold_percent: f64,
        hard_bounces: f64,
        sends: f64,
    },
    ComplaintRate {
        percent: f64,
        threshold_percent: f64,
        complaints: f64,
        deliveries: f64,
    },
    SuccessRate {
        percent: f64,
        threshold_percent: f64,
        deliveries: f64,
        sends: f64,
    },
    /// `AWS/SES Reputation.BounceRate` (a fraction: 0.05 = 5 %).
    ReputationBounceRate {
        fraction: f64,
        threshold_percent: f64,
    },
    /// `AWS/SES Reputation.ComplaintRate` (a fraction).
    ReputationComplaintRate {
        fraction: f64,
        threshold_percent: f64,
    },

    // ---- monitor: pipeline ----
    RecordsProcessingFailed {
        count: f64,
        service: String,
    },
    NoEvents {
        ses_sends: f64,
        namespace: String,
    },

    // ---- monitor: itself ----
    /// A check could not run (API error, timeout, missing permission).
    CheckFailed {
        check: String,
        operation: String,
        error: String,
    },
}

/// Every kind name, for tests that each has a golden file.
pub const KINDS: [&str; 19] = [
    "dkim.dns_record_request",
    "dkim.byodkim_applied",
    "dkim.byodkim_apply_failed",
    "monitor.key_expiry",
    "monitor.rotation_requested",
    "monitor.ses_dkim_status",
    "monitor.ses_dkim_pending",
    "monitor.ses_signing_origin",
    "monitor.ses_signing_disabled",
    "monitor.dns_key_mismatch",
    "monitor.retired_selector_published",
    "monitor.bounce_rate",
    "monitor.complaint_rate",
    "monitor.success_rate",
    "monitor.reputation_bounce_rate",
    "monitor.reputation_complaint_rate",
    "monitor.records_processing_failed",
    "monitor.no_events",
    "monitor.check_failed",
];

/// `aws lambda invoke` of the DKIM manager with `payload`, exactly as an operator pastes it.
fn invoke(ctx: &Context, payload: serde_json::Value) -> String {
    format!(
        "aws lambda invoke --region {} --function-name {} --cli-binary-format raw-in-base64-out --payload '{}' response.json",
        ctx.region, ctx.dkim_manager_function, payload
    )
}

fn status_payload(ctx: &Context) -> serde_json::Value {
    json!({"action": "status", "domain": ctx.domain})
}

fn dig(record_name: &str) -> String {
    format!("dig +short TXT {record_name}")
}

fn pct(value: f64) -> String {
    format!("{value:.3} %")
}

struct Text {
    title: (&'static str, &'static str),
    happened: (String, String),
    next: (String, String),
    facts: Vec<(String, String)>,
    commands: Vec<String>,
    record: Option<DnsRecordBlock>,
    links: Vec<(String, String)>,
}

impl Message {
    pub fn kind(&self) -> &'static str {
        match self {
            Message::DnsRecordRequest { .. } => KINDS[0],
            Message::ByodkimApplied { .. } => KINDS[1],
            Message::ByodkimApplyFailed { .. } => KINDS[2],
            Message::KeyExpiry { .. } => KINDS[3],
            Message::RotationRequested { .. } => KINDS[4],
            Message::SesDkimStatus { .. } => KINDS[5],
            Message::SesDkimPending { .. } => KINDS[6],
            Message::SesSigningOrigin { .. } => KINDS[7],
            Message::SesSigningDisabled { .. } => KINDS[8],
            Message::DnsKeyMismatch { .. } => KINDS[9],
            Message::RetiredSelectorPublished { .. } => KINDS[10],
            Message::BounceRate { .. } => KINDS[11],
            Message::ComplaintRate { .. } => KINDS[12],
            Message::SuccessRate { .. } => KINDS[13],
            Message::ReputationBounceRate { .. } => KINDS[14],
            Message::ReputationComplaintRate { .. } => KINDS[15],
            Message::RecordsProcessingFailed { .. } => KINDS[16],
            Message::NoEvents { .. } => KINDS[17],
            Message::CheckFailed { .. } => KINDS[18],
        }
    }

    /// DNS requests (publish a record, remove a retired one) also go to the DNS team.
    pub fn route(&self) -> Route {
        match self {
            Message::DnsRecordRequest { .. } | Message::RetiredSelectorPublished { .. } => Route::DnsTeam,
            _ => Route::Operations,
        }
    }

    /// Renders the message with the given severity.
    pub fn render(&self, severity: Severity, ctx: &Context) -> Notification {
        let t = self.text(ctx);
        let mut facts = t.facts;
        facts.retain(|(_, v)| !v.is_empty());
        Notification {
            kind: self.kind(),
            severity,
            route: self.route(),
            title_ja: t.title.0.into(),
            title_en: t.title.1.into(),
            environment: ctx.environment.clone(),
            domain: ctx.domain.clone(),
            region: ctx.region.clone(),
            at: ctx.at,
            facts,
            happened_ja: t.happened.0,
            happened_en: t.happened.1,
            next_ja: t.next.0,
            next_en: t.next.1,
            commands: t.commands,
            record: t.record,
            links: t.links,
        }
    }

    fn text(&self, ctx: &Context) -> Text {
        let d = &ctx.domain;
        let ses_links = || vec![links::ses_identity(ctx), links::dkim_manager(ctx)];
        let key_links = || {
            let mut l = vec![links::ses_identity(ctx), links::dkim_manager(ctx)];
            l.extend(links::certificates(ctx));
            l
        };
        match self {
            Message::DnsRecordRequest { selector, record } => Text {
                title: ("DKIM DNSレコード登録依頼", "DKIM DNS record request"),
                happened: (
                    format!("ドメイン {d} の新しいDKIM公開鍵（セレクター {selector}）を生成しました。"),
                    format!("A new DKIM public key (selector {selector}) was generated for {d}."),
                ),
                next: (
                    "下記のTXTレコードを登録してください。既存のセレクターのレコードは削除しないでください。\n\
                     登録後、check_dns_status で公開鍵の一致（MATCH）を確認してから SES に適用します。"
                        .into(),
                    "Publish the TXT record below. Do not remove the records of existing selectors.\n\
                     Once published, check_dns_status must report MATCH before SES is switched."
                        .into(),
                ),
                facts: vec![("セレクター / Selector".into(), selector.clone())],
                commands: vec![
                    dig(&record.name),
                    invoke(ctx, json!({"action": "check_dns_status", "domain": d, "selector": selector})),
                ],
                record: Some(record.clone()),
                links: key_links(),
            },
            Message::ByodkimApplied { selector, status, retire_after_days } => Text {
                title: ("DKIM BYODKIM 適用完了", "BYODKIM key applied to SES"),
                happened: (
                    format!("SES はセレクター {selector} で署名するよう設定されました（状態: {status}）。"),
                    format!("SES now signs with selector {selector} (status {status})."),
                ),
                next: (
                    format!(
                        "状態が SUCCESS になったことを status で確認してください。旧セレクターのTXTレコードは、\
                         新セレクターが SUCCESS になってから{retire_after_days}日間は削除しないでください。"
                    ),
                    format!(
                        "Confirm with status that SES reports SUCCESS. Keep the old selectors' TXT records \
                         for {retire_after_days} days after the new one reaches SUCCESS."
                    ),
                ),
                facts: vec![
                    ("セレクター / Selector".into(), selector.clone()),
                    ("SES DKIM 状態 / SES DKIM status".into(), status.clone()),
                ],
                commands: vec![invoke(ctx, status_payload(ctx))],
                record: None,
                links: ses_links(),
            },
            Message::ByodkimApplyFailed { selector, cause, restored, rolled_back } => Text {
                title: ("DKIM SES適用失敗", "BYODKIM apply to SES failed"),
                happened: (
                    format!(
                        "セレクター {selector} の SES 適用に失敗しました: {cause}\n{}",
                        if *rolled_back {
                            format!("以前の署名設定（{restored}）に戻しました。")
                        } else {
                            format!("以前の署名設定（{restored}）への復元にも失敗しました。")
                        }
                    ),
                    format!(
                        "Applying selector {selector} to SES failed: {cause}\n{}",
                        if *rolled_back {
                            format!("The previous signing attributes ({restored}) were restored.")
                        } else {
                            format!("Restoring the previous signing attributes ({restored}) also failed.")
                        }
                    ),
                ),
                next: if *rolled_back {
                    (
                        "原因を確認し、DNS が MATCH であることを確かめてから適用をやり直してください。".into(),
                        "Find the cause, confirm DNS is MATCH, then request the apply again.".into(),
                    )
                } else {
                    (
                        "至急 SES コンソールで署名設定を確認してください。status で現在の状態を確認できます。".into(),
                        "Check the identity's signing attributes in the SES console now; status shows the \
                         current state."
                            .into(),
                    )
                },
                facts: vec![
                    ("セレクター / Selector".into(), selector.clone()),
                    ("復元先 / Restored to".into(), restored.clone()),
                ],
                commands: vec![
                    invoke(ctx, status_payload(ctx)),
                    invoke(
                        ctx,
                        json!({"action": "update_ses_byodkim_automated", "domain": d, "selector": selector}),
                    ),
                ],
                record: None,
                links: ses_links(),
            },
            Message::KeyExpiry { selector, expires_at, days_left, successor } => {
                let when_ja = if *days_left < 0 {
                    format!("{}日前に期限切れになりました", -days_left)
                } else {
                    format!("あと{days_left}日で期限切れになります")
                };
                let when_en = if *days_left < 0 {
                    format!("expired {} day(s) ago", -days_left)
                } else {
                    format!("expires in {days_left} day(s)")
                };
                let (next, commands) = match successor {
                    Some(next_sel) => (
                        (
                            format!(
                                "後継の鍵（セレクター {next_sel}）が生成済みです。DNS 登録を確認し、MATCH なら SES に適用してください。"
                            ),
                            format!(
                                "A successor key (selector {next_sel}) exists. Confirm its DNS record and, once \
                                 MATCH, apply it to SES."
                            ),
                        ),
                        vec![
                            invoke(ctx, json!({"action": "check_dns_status", "domain": d, "selector": next_sel})),
                            invoke(
                                ctx,
                                json!({"action": "rotate_dkim_keys", "domain": d, "mode": "APPLY_TO_SES", "dns_confirmation": true, "selector": next_sel}),
                            ),
                        ],
                    ),
                    None => (
                        (
                            "新しい鍵を生成してください（DNS チームへの登録依頼は自動送信されます）。".into(),
                            "Generate a new key (the DNS team is asked to publish it automatically).".into(),
                        ),
                        vec![invoke(ctx, json!({"action": "rotate_dkim_keys", "domain": d, "mode": "GENERATE_ONLY"}))],
                    ),
                };
                Text {
                    title: if *days_left < 0 {
                        ("DKIM 鍵の期限切れ", "DKIM key expired")
                    } else {
                        ("DKIM 鍵の期限が近づいています", "DKIM key expires soon")
                    },
                    happened: (
                        format!("SES が署名に使うセレクター {selector} の鍵は{when_ja}（期限 {}）。", format_time(*expires_at)),
                        format!("The key of selector {selector}, which SES signs with, {when_en} ({}).", format_time(*expires_at)),
                    ),
                    next,
                    facts: vec![
                        ("セレクター / Selector".into(), selector.clone()),
                        ("期限までの日数 / Days until expiry".into(), days_left.to_string()),
                    ],
                    commands,
                    record: None,
                    links: key_links(),
                }
            }
            Message::RotationRequested { selector, new_selector } => Text {
                title: ("DKIM 鍵の自動ローテーション開始", "DKIM key rotation started"),
                happened: (
                    format!(
                        "BYODKIM_ROTATION_MODE=AUTO のため、セレクター {selector} の後継鍵の生成を DKIM 管理 Lambda に依頼しました{}。",
                        new_selector.as_ref().map(|s| format!("（新セレクター {s}）")).unwrap_or_default()
                    ),
                    format!(
                        "BYODKIM_ROTATION_MODE=AUTO: the monitor asked the DKIM manager for a successor of selector {selector}{}.",
                        new_selector.as_ref().map(|s| format!(" (new selector {s})")).unwrap_or_default()
                    ),
                ),
                next: (
                    "DNS チームへの登録依頼を確認し、登録後に DNS の一致を確認してください。".into(),
                    "Follow the DNS team's request; once published, check DNS for MATCH.".into(),
                ),
                facts: vec![
                    ("期限が近いセレクター / Expiring selector".into(), selector.clone()),
                    ("新セレクター / New selector".into(), new_selector.clone().unwrap_or_default()),
                ],
                commands: vec![invoke(ctx, status_payload(ctx))],
                record: None,
                links: key_links(),
            },
            Message::SesDkimStatus { status, selector } => Text {
                title: ("SES DKIM 状態異常", "SES DKIM status is not SUCCESS"),
                happened: (
                    format!(
                        "SES の DKIM 状態が {status} です{}。SES が DKIM 署名を検証できていません。",
                        selector.as_ref().map(|s| format!("（セレクター {s}）")).unwrap_or_default()
                    ),
                    format!(
                        "SES reports DKIM status {status}{}: SES cannot verify the DKIM setup.",
                        selector.as_ref().map(|s| format!(" (selector {s})")).unwrap_or_default()
                    ),
                ),
                next: (
                    "DNS の TXT レコードが公開鍵と一致しているか確認し、SES コンソールで ID の状態を確認してください。".into(),
                    "Check that the TXT record holds our public key, and the identity's state in the SES console."
                        .into(),
                ),
                facts: vec![
                    ("SES DKIM 状態 / SES DKIM status".into(), status.clone()),
                    ("セレクター / Selector".into(), selector.clone().unwrap_or_default()),
                ],
                commands: match selector {
                    Some(s) => vec![
                        invoke(ctx, json!({"action": "check_dns_status", "domain": d, "selector": s})),
                        invoke(ctx, status_payload(ctx)),
                    ],
                    None => vec![invoke(ctx, status_payload(ctx))],
                },
                record: None,
                links: ses_links(),
            },
            Message::SesDkimPending { selector, pending_hours } => Text {
                title: ("SES DKIM 検証待ちが長引いています", "SES DKIM verification still pending"),
                happened: (
                    format!(
                        "SES の DKIM 状態が PENDING のままです（{}）。SES は 72 時間でレコードの検索をやめます。",
                        pending_hours.map(|h| format!("{h} 時間")).unwrap_or_else(|| "開始時刻不明".into())
                    ),
                    format!(
                        "SES DKIM status is still PENDING ({}). SES stops looking for the record after 72 hours.",
                        pending_hours.map(|h| format!("{h} hours")).unwrap_or_else(|| "since an unknown time".into())
                    ),
                ),
                next: (
                    "TXT レコードが公開されているか確認してください。".into(),
                    "Check that the TXT record is published.".into(),
                ),
                facts: vec![("セレクター / Selector".into(), selector.clone().unwrap_or_default())],
                commands: match selector {
                    Some(s) => vec![invoke(ctx, json!({"action": "check_dns_status", "domain": d, "selector": s}))],
                    None => vec![invoke(ctx, status_payload(ctx))],
                },
                record: None,
                links: ses_links(),
            },
            Message::SesSigningOrigin { origin, tokens, expected_selector } => Text {
                title: ("SES が BYODKIM 鍵で署名していません", "SES does not sign with the BYODKIM key"),
                happened: (
                    format!(
                        "BYODKIM（セレクター {expected_selector}）を適用済みですが、SES の署名元は {} です（トークン {}）。",
                        origin.as_deref().unwrap_or("未設定"),
                        tokens.join(", ")
                    ),
                    format!(
                        "BYODKIM (selector {expected_selector}) was applied, but SES signs with origin {} (tokens {}).",
                        origin.as_deref().unwrap_or("(none)"),
                        tokens.join(", ")
                    ),
                ),
                next: (
                    "DNS が MATCH であることを確認し、鍵を SES に再適用してください。".into(),
                    "Confirm DNS is MATCH and apply the key to SES again.".into(),
                ),
                facts: vec![
                    ("署名元 / Signing origin".into(), origin.clone().unwrap_or_else(|| "-".into())),
                    ("期待するセレクター / Expected selector".into(), expected_selector.clone()),
                ],
                commands: vec![invoke(
                    ctx,
                    json!({"action": "update_ses_byodkim_automated", "domain": d, "selector": expected_selector}),
                )],
                record: None,
                links: ses_links(),
            },
            Message::SesSigningDisabled { origin } => Text {
                title: ("SES の DKIM 署名が無効です", "SES DKIM signing is disabled"),
                happened: (
                    format!("SES の DKIM 署名が無効になっています（署名元 {}）。メールは DKIM 署名なしで送信されます。", origin.as_deref().unwrap_or("-")),
                    format!("DKIM signing is disabled on the identity (origin {}): mail leaves without a DKIM signature.", origin.as_deref().unwrap_or("-")),
                ),
                next: (
                    "意図した変更か確認し、そうでなければ署名を有効にしてください。".into(),
                    "Check whether this was intended; if not, enable signing again.".into(),
                ),
                facts: vec![],
                commands: vec![format!(
                    "aws sesv2 put-email-identity-dkim-attributes --region {} --email-identity {d} --signing-enabled",
                    ctx.region
                )],
                record: None,
                links: ses_links(),
            },
            Message::DnsKeyMismatch { selector, record_name, status, detail } => Text {
                title: ("DKIM DNS レコード不一致", "DKIM DNS record does not hold our key"),
                happened: (
                    format!("SES が署名に使うセレクター {selector} の TXT レコード（{record_name}）が {status} です: {detail}"),
                    format!("The TXT record of selector {selector}, which SES signs with ({record_name}), is {status}: {detail}"),
                ),
                next: (
                    "受信側で DKIM 検証が失敗します。DNS チームと TXT レコードを確認してください（dns_records の JSON が正しい値です）。".into(),
                    "Receivers will fail DKIM. Check the TXT record with the DNS team (the dns_records JSON holds the correct value).".into(),
                ),
                facts: vec![
                    ("セレクター / Selector".into(), selector.clone()),
                    ("DNS 状態 / DNS status".into(), status.clone()),
                ],
                commands: vec![
                    dig(record_name),
                    invoke(ctx, json!({"action": "check_dns_status", "domain": d, "selector": selector})),
                ],
                record: None,
                links: key_links(),
            },
            Message::RetiredSelectorPublished { selector, record_name, removable_since } => Text {
                title: ("旧 DKIM レコード削除依頼", "Retired DKIM record may be removed"),
                happened: (
                    format!(
                        "引退したセレクター {selector} の TXT レコード（{record_name}）が、削除可能日（{}）を過ぎても公開されています。",
                        format_time(*removable_since)
                    ),
                    format!(
                        "The retired selector {selector}'s TXT record ({record_name}) is still published after its retire date ({}).",
                        format_time(*removable_since)
                    ),
                ),
                next: (
                    format!("TXT レコード {record_name} を削除してください。SES はこのセレクターで署名していません。"),
                    format!("Remove the TXT record {record_name}. SES no longer signs with this selector."),
                ),
                facts: vec![("セレクター / Selector".into(), selector.clone())],
                commands: vec![dig(record_name), invoke(ctx, status_payload(ctx))],
                record: None,
                links: vec![links::ses_identity(ctx)],
            },
            Message::BounceRate { percent, threshold_percent, hard_bounces, sends } => Text {
                title: ("バウンス率が閾値を超えました", "Bounce rate above threshold"),
                happened: (
                    format!("過去24時間のバウンス率（恒久バウンス − 抑制リスト分）が {} です（閾値 {}、{hard_bounces} / {sends} 通）。", pct(*percent), pct(*threshold_percent)),
                    format!("The hard-bounce rate over the last 24 hours is {} (threshold {}; {hard_bounces} of {sends} sends).", pct(*percent), pct(*threshold_percent)),
                ),
                next: (
                    "送信先リストを確認し、無効なアドレスへの送信を止めてください。SES はバウンス率 5 % で審査の対象になります。".into(),
                    "Review the recipient lists and stop sending to invalid addresses. SES reviews accounts at a 5 % bounce rate.".into(),
                ),
                facts: vec![],
                commands: vec![],
                record: None,
                links: vec![links::cloudwatch_metrics(ctx), links::ses_reputation(ctx)],
            },
            Message::ComplaintRate { percent, threshold_percent, complaints, deliveries } => Text {
                title: ("苦情率が閾値を超えました", "Complaint rate above threshold"),
                happened: (
                    format!("過去24時間の苦情率が {} です（閾値 {}、{complaints} / 配信 {deliveries} 通）。", pct(*percent), pct(*threshold_percent)),
                    format!("The complaint rate over the last 24 hours is {} (threshold {}; {complaints} of {deliveries} deliveries).", pct(*percent), pct(*threshold_percent)),
                ),
                next: (
                    "配信停止の手続きと送信内容を確認してください。SES は苦情率 0.1 % で審査、0.5 % で送信停止の可能性があります。".into(),
                    "Check unsubscribe handling and content. SES reviews at 0.1 % and may pause sending at 0.5 %.".into(),
                ),
                facts: vec![],
                commands: vec![],
                record: None,
                links: vec![links::cloudwatch_metrics(ctx), links::ses_reputation(ctx)],
            },
            Message::SuccessRate { percent, threshold_percent, deliveries, sends } => Text {
                title: ("配信成功率が閾値を下回りました", "Delivery success rate below threshold"),
                happened: (
                    format!("過去24時間の配信成功率が {} です（閾値 {}、配信 {deliveries} / 送信 {sends} 通）。", pct(*percent), pct(*threshold_percent)),
                    format!("The delivery success rate over the last 24 hours is {} (threshold {}; {deliveries} deliveries of {sends} sends).", pct(*percent), pct(*threshold_percent)),
                ),
                next: (
                    "バウンス・拒否・配信遅延のイベントを確認してください。".into(),
                    "Look at the bounce, reject and delivery-delay events.".into(),
                ),
                facts: vec![],
                commands: vec![],
                record: None,
                links: vec![links::cloudwatch_metrics(ctx), links::ses_reputation(ctx)],
            },
            Message::ReputationBounceRate { fraction, threshold_percent } => Text {
                title: ("SES 評価指標: バウンス率", "SES reputation: bounce rate"),
                happened: (
                    format!("SES の Reputation.BounceRate が {}（値 {fraction}）です（閾値 {}）。", pct(fraction * 100.0), pct(*threshold_percent)),
                    format!("SES's Reputation.BounceRate is {} (value {fraction}; threshold {}).", pct(fraction * 100.0), pct(*threshold_percent)),
                ),
                next: (
                    "SES コンソールの評価指標を確認してください。5 % でアカウント審査の対象になります。".into(),
                    "Check the reputation page in the SES console; accounts are reviewed at 5 %.".into(),
                ),
                facts: vec![],
                commands: vec![],
                record: None,
                links: vec![links::ses_reputation(ctx)],
            },
            Message::ReputationComplaintRate { fraction, threshold_percent } => Text {
                title: ("SES 評価指標: 苦情率", "SES reputation: complaint rate"),
                happened: (
                    format!("SES の Reputation.ComplaintRate が {}（値 {fraction}）です（閾値 {}）。", pct(fraction * 100.0), pct(*threshold_percent)),
                    format!("SES's Reputation.ComplaintRate is {} (value {fraction}; threshold {}).", pct(fraction * 100.0), pct(*threshold_percent)),
                ),
                next: (
                    "SES コンソールの評価指標を確認してください。0.1 % で審査、0.5 % で送信停止の可能性があります。".into(),
                    "Check the reputation page in the SES console; review at 0.1 %, sending may be paused at 0.5 %.".into(),
                ),
                facts: vec![],
                commands: vec![],
                record: None,
                links: vec![links::ses_reputation(ctx)],
            },
            Message::RecordsProcessingFailed { count, service } => Text {
                title: ("ログ変換で失敗レコードがあります", "Log transformation failed records"),
                happened: (
                    format!("過去24時間に Firehose 変換 Lambda（{service}）で {count} 件のレコードが ProcessingFailed になりました。"),
                    format!("In the last 24 hours the Firehose transformation ({service}) marked {count} record(s) ProcessingFailed."),
                ),
                next: (
                    "変換 Lambda のログで失敗理由を確認してください。失敗レコードは Firehose のエラー出力先（processing-failed/）にあります。".into(),
                    "Read the transformation Lambda's log for the reasons; failed records are in the Firehose error output (processing-failed/).".into(),
                ),
                facts: vec![("サービス / Service".into(), service.clone())],
                commands: vec![],
                record: None,
                links: vec![links::cloudwatch_metrics(ctx)],
            },
            Message::NoEvents { ses_sends, namespace } => Text {
                title: ("ログパイプラインにイベントがありません", "No events reached the log pipeline"),
                happened: (
                    format!("過去24時間に SES は {ses_sends} 通送信しましたが、{namespace} の Events メトリクスは 0 件です。"),
                    format!("SES sent {ses_sends} message(s) in the last 24 hours, but {namespace} recorded no Events."),
                ),
                next: (
                    "設定セットのイベント送信先、Firehose 配信ストリーム、変換 Lambda を確認してください。".into(),
                    "Check the configuration set's event destination, the Firehose stream and the transformation Lambda.".into(),
                ),
                facts: vec![],
                commands: vec![],
                record: None,
                links: vec![links::cloudwatch_metrics(ctx)],
            },
            Message::CheckFailed { check, operation, error } => Text {
                title: ("監視チェックを実行できません", "A monitor check could not run"),
                happened: (
                    format!("チェック {check} を実行できませんでした（{operation}）: {error}"),
                    format!("Check {check} could not run ({operation}): {error}"),
                ),
                next: (
                    "権限・ネットワーク・設定を確認してください。このチェックの結果は今回ありません。".into(),
                    "Check permissions, network and configuration; this check has no result this time.".into(),
                ),
                facts: vec![("チェック / Check".into(), check.clone())],
                commands: vec![],
                record: None,
                links: vec![links::cloudwatch_metrics(ctx)],
            },
        }
    }
}
