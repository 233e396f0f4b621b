//! The outbox rules, one test per transition.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::PhoneRegion;

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

fn pending() -> Notification {
    let phone = PhoneNumber::parse("+254712345678", PhoneRegion::default()).unwrap();
    Notification::new(OrderId::generate(), phone, "hello".into(), t(0))
}

fn phone(number: &str) -> PhoneNumber {
    PhoneNumber::parse(number, PhoneRegion::default()).unwrap()
}

/// Retries for 10 minutes.
fn policy() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(60),
        retry_for: Duration::from_secs(600),
    }
}

fn receipt(id: &str) -> SmsReceipt {
    SmsReceipt {
        cost: SmsCost::parse_provider("KES 0.8000").unwrap(),
        parts: Some(1),
        ..SmsReceipt::accepted(id, "Success")
    }
}

fn claimed(n: &Notification, worker: &str, at: i64) -> Notification {
    n.claim(worker, t(at), t(at + 30)).expect("due")
}

fn sent(id: &str) -> Notification {
    let n = claimed(&pending(), "w1", 0);
    n.record_attempt("w1", Ok(receipt(id)), &policy(), t(1)).unwrap().0
}

fn report(id: &str, status: &str) -> DeliveryReport {
    DeliveryReport {
        provider_message_id: id.into(),
        status: status.into(),
        phone_number: Some("+254712345678".into()),
        network_code: Some("63902".into()),
        failure_reason: (status != "Success").then(|| "UserInAnotherNetwork".into()),
        raw: String::new(),
    }
}

fn applied(n: &Notification, r: &DeliveryReport) -> Notification {
    match n.apply_delivery_report(r, t(5)) {
        ReportDecision::Apply(next) => *next,
        ReportDecision::Ignore(why) => panic!("ignored: {why}"),
    }
}

#[test]
fn a_pending_notification_is_claimed_once_due_and_each_change_is_a_new_version() {
    let n = Notification::restore(NotificationParts { next_attempt_at: t(10), ..pending().parts().clone() });
    assert!(n.claim("w1", t(9), t(40)).is_none(), "not due yet");
    let c = claimed(&n, "w1", 10);
    assert_eq!(c.status(), NotificationStatus::Sending);
    assert_eq!(c.lease(), Some(&Lease { owner: "w1".into(), until: t(40) }));
    assert_eq!(c.version(), n.version() + 1);
    assert_eq!(c.updated_at(), t(10));
}

#[test]
fn a_held_lease_blocks_others_until_it_expires() {
    let c = claimed(&pending(), "w1", 0);
    assert!(c.claim("w2", t(29), t(60)).is_none(), "lease still held");
    let taken = c.claim("w2", t(31), t(61)).expect("expired lease is taken over");
    assert_eq!(taken.lease().map(|l| l.owner.as_str()), Some("w2"));
    assert_eq!(c.record_attempt("w3", Ok(receipt("x")), &policy(), t(2)), Err(LeaseLost));
    assert_eq!(pending().record_attempt("w1", Ok(receipt("x")), &policy(), t(2)), Err(LeaseLost));
}

#[test]
fn an_accepted_send_is_sent_with_its_receipt() {
    let n = sent("ATXid_1");
    assert_eq!(n.status(), NotificationStatus::Sent);
    assert_eq!(n.provider_message_id(), Some("ATXid_1"));
    assert_eq!((n.sent_at(), n.attempts(), n.lease().cloned()), (Some(t(1)), 1, None));
    assert!(!n.is_due(t(1000)), "a sent notification is never claimed again");
}

#[test]
fn a_temporary_failure_waits_for_the_backoff() {
    let c = claimed(&pending(), "w1", 0);
    let (n, attempt) = c.record_attempt("w1", Err(SmsError::Retryable("HTTP 500".into())), &policy(), t(1)).unwrap();
    assert_eq!(n.status(), NotificationStatus::Pending);
    assert_eq!(attempt.outcome, AttemptOutcome::Retry);
    assert!(n.next_attempt_at() >= t(6) && n.next_attempt_at() < t(11), "jittered backoff");
    assert!(!n.is_due(t(2)));
    assert_eq!(n.last_error(), Some("temporary failure: HTTP 500"));
}

#[test]
fn a_permanent_failure_gives_up_and_an_outage_only_delays_until_the_window_ends() {
    let c = claimed(&pending(), "w1", 0);
    let (n, attempt) =
        c.record_attempt("w1", Err(SmsError::Permanent("InvalidPhoneNumber".into())), &policy(), t(1)).unwrap();
    assert_eq!((n.status(), attempt.outcome), (NotificationStatus::Failed, AttemptOutcome::Failed));

    // An outage: every attempt fails temporarily; each is retried while the window is open.
    let mut n = pending();
    let mut at = 0;
    while n.status() == NotificationStatus::Pending {
        at = n.next_attempt_at().signed_duration_since(t(0)).num_seconds() + 1;
        let c = claimed(&n, "w1", at);
        let (next, logged) = c.record_attempt("w1", Err(SmsError::Retryable("503".into())), &policy(), t(at)).unwrap();
        assert_eq!(logged.number, n.attempts() + 1);
        n = next;
    }
    assert_eq!(n.status(), NotificationStatus::Failed);
    assert!(
        at >= 600 && n.attempts() > 10,
        "gave up only after sms.retry_for, at {at} s after {} attempts",
        n.attempts()
    );

    // The provider recovers inside the window: the SMS is sent.
    let c = claimed(&pending(), "w1", 0);
    let (n, _) =
        c.record_attempt("w1", Err(SmsError::Retryable("connection refused".into())), &policy(), t(1)).unwrap();
    let c = claimed(&n, "w1", 599);
    let (n, _) = c.record_attempt("w1", Ok(receipt("late")), &policy(), t(599)).unwrap();
    assert_eq!(n.status(), NotificationStatus::Sent);
}

#[test]
fn a_timeout_is_retried_once_only() {
    let c = claimed(&pending(), "w1", 0);
    let (n, _) = c.record_attempt("w1", Err(SmsError::Ambiguous("timeout".into())), &policy(), t(1)).unwrap();
    assert_eq!(n.status(), NotificationStatus::Pending);
    assert!(n.timed_out());
    let c = claimed(&n, "w1", 100);
    let (n, attempt) = c.record_attempt("w1", Err(SmsError::Ambiguous("timeout".into())), &policy(), t(101)).unwrap();
    assert_eq!((n.status(), attempt.outcome), (NotificationStatus::Failed, AttemptOutcome::Failed));
}

#[test]
fn only_failed_or_undelivered_notifications_are_requeued_with_a_fresh_budget() {
    let current = phone("+254712345678");
    assert_eq!(pending().requeue(current.clone(), t(1)), Err(NotRetryable(NotificationStatus::Pending)));
    assert_eq!(sent("a").requeue(current.clone(), t(2)), Err(NotRetryable(NotificationStatus::Sent)));
    let undelivered = applied(&sent("a"), &report("a", "Failed"));
    let requeued = undelivered.requeue(current, t(9)).unwrap();
    assert_eq!((requeued.status(), requeued.attempts(), requeued.timed_out()), (NotificationStatus::Pending, 0, false));
    assert_eq!(requeued.retry_since(), t(9), "a fresh retry window");
    assert_eq!((requeued.provider_message_id(), requeued.delivery_status()), (None, None));
    assert!(requeued.is_due(t(9)));
}

#[test]
fn delivery_reports_are_monotonic() {
    let n = sent("a");
    let buffered = applied(&n, &report("a", "Buffered"));
    assert_eq!(buffered.status(), NotificationStatus::Sent);
    assert_eq!(
        buffered.apply_delivery_report(&report("a", "Buffered"), t(6)),
        ReportDecision::Ignore(IgnoredReport::Duplicate)
    );
    let delivered = applied(&buffered, &report("a", "Success"));
    assert_eq!(delivered.status(), NotificationStatus::Delivered);
    for late in ["Submitted", "Failed", "Success"] {
        assert_eq!(
            delivered.apply_delivery_report(&report("a", late), t(7)),
            ReportDecision::Ignore(IgnoredReport::AlreadyFinal)
        );
    }
    let failed = applied(&n, &report("a", "Rejected"));
    assert_eq!(failed.status(), NotificationStatus::Undelivered);
    assert_eq!(failed.delivery_failure_reason(), Some("UserInAnotherNetwork"));
}

#[test]
fn a_report_naming_another_phone_number_is_ignored() {
    let wrong = DeliveryReport { phone_number: Some("+254700000001".into()), ..report("a", "Failed") };
    assert_eq!(sent("a").apply_delivery_report(&wrong, t(5)), ReportDecision::Ignore(IgnoredReport::WrongRecipient));
}

#[test]
fn a_resent_message_gets_its_own_delivery_state() {
    // Failed -> retried by hand -> re-sent as a new message -> its Success is applied.
    let undelivered = applied(&sent("first"), &report("first", "Failed"));
    let requeued = undelivered.requeue(phone("+254712345678"), t(10)).unwrap();
    assert_eq!(
        requeued.apply_delivery_report(&report("first", "Failed"), t(11)),
        ReportDecision::Ignore(IgnoredReport::OtherMessage),
        "a late report about the first message no longer applies"
    );
    let c = claimed(&requeued, "w1", 10);
    let (resent, _) = c.record_attempt("w1", Ok(receipt("second")), &policy(), t(12)).unwrap();
    assert_eq!(resent.delivery_status(), None);
    let delivered = applied(&resent, &report("second", "Success"));
    assert_eq!(delivered.status(), NotificationStatus::Delivered);
}

#[test]
fn a_retry_by_hand_texts_the_corrected_number_and_each_attempt_records_its_number() {
    let first = claimed(&pending(), "w1", 0);
    let (failed, attempt) =
        first.record_attempt("w1", Err(SmsError::Permanent("InvalidPhoneNumber".into())), &policy(), t(1)).unwrap();
    assert_eq!(attempt.recipient.as_str(), "+254712345678");
    let requeued = failed.requeue(phone("0733 111 222"), t(5)).unwrap();
    assert_eq!(requeued.recipient().as_str(), "+254733111222");
    let c = claimed(&requeued, "w1", 5);
    let (sent, attempt) = c.record_attempt("w1", Ok(receipt("b")), &policy(), t(6)).unwrap();
    assert_eq!((sent.status(), attempt.recipient.as_str()), (NotificationStatus::Sent, "+254733111222"));
}

#[test]
fn reports_match_the_recipient_as_a_number_with_or_without_its_plus() {
    for written in ["254712345678", "+254712345678", " +254712345678 "] {
        let r = DeliveryReport { phone_number: Some(written.into()), ..report("a", "Success") };
        assert_eq!(applied(&sent("a"), &r).status(), NotificationStatus::Delivered, "{written:?}");
    }
    for other in ["254712345679", "0712345678", "+254 712 345 678", "2547123456780", ""] {
        let r = DeliveryReport { phone_number: Some(other.into()), ..report("a", "Success") };
        assert_eq!(
            sent("a").apply_delivery_report(&r, t(5)),
            ReportDecision::Ignore(IgnoredReport::WrongRecipient),
            "{other:?}"
        );
    }
}

#[test]
fn unknown_report_statuses_are_one_metric_label() {
    assert_eq!(report("a", "Buffered").status_label(), "Buffered");
    assert_eq!(report("a", "AbsentSubscriber").status_label(), "AbsentSubscriber");
    for odd in ["buffered", "Delivered", "x\nEvil", ""] {
        assert_eq!(report("a", odd).status_label(), "other");
    }
}

#[test]
fn final_statuses_are_known() {
    assert!(is_final_delivery_status("Success") && is_final_delivery_status("AbsentSubscriber"));
    assert!(!is_final_delivery_status("Buffered") && !is_final_delivery_status("Sent"));
}

#[test]
fn attempt_outcomes_round_trip_their_names() {
    for result in AttemptOutcome::ALL {
        assert_eq!(AttemptOutcome::parse(result.as_str()), Some(result));
    }
    assert_eq!(AttemptOutcome::parse("maybe"), None);
}

#[test]
fn a_sent_attempt_keeps_its_cost_and_parts_and_a_failed_one_has_none() {
    let c = claimed(&pending(), "w1", 0);
    let (_, failed) = c.record_attempt("w1", Err(SmsError::Retryable("HTTP 500".into())), &policy(), t(1)).unwrap();
    assert_eq!((failed.cost, failed.parts), (None, None));
    let (_, sent) = c.record_attempt("w1", Ok(receipt("ATXid_1")), &policy(), t(1)).unwrap();
    assert_eq!(sent.cost.map(|c| c.to_string()).as_deref(), Some("KES 0.80"));
    assert_eq!((sent.parts, sent.error), (Some(1), None));
}

#[test]
fn an_unreadable_cost_never_fails_the_send_and_is_kept_in_the_attempts_log() {
    let c = claimed(&pending(), "w1", 0);
    let odd = SmsReceipt { unreadable_cost: Some("KES 0,80".into()), ..SmsReceipt::accepted("ATXid_1", "Success") };
    let (n, attempt) = c.record_attempt("w1", Ok(odd), &policy(), t(1)).unwrap();
    assert_eq!((n.status(), attempt.outcome, attempt.cost), (NotificationStatus::Sent, AttemptOutcome::Sent, None));
    assert!(attempt.error.as_deref().is_some_and(|e| e.contains("\"KES 0,80\"")), "{:?}", attempt.error);
    assert_eq!(n.last_error(), None, "the send succeeded");
}
