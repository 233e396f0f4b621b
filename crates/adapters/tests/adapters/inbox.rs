use orderdesk_adapters::SeaOrmInboxRepository;
use orderdesk_adapters::testing::on_each_backend;
use orderdesk_domain::PageRequest;
use orderdesk_domain::inbox::IncomingMessage;
use orderdesk_domain::ports::InboxRepository;
use uuid::Uuid;

use crate::{day, now};

fn message(provider_id: &str, sender: &str, text: &str) -> IncomingMessage {
    IncomingMessage {
        id: Uuid::now_v7(),
        provider_id: provider_id.into(),
        sender: sender.into(),
        recipient: "22384".into(),
        text: text.into(),
        link_id: Some("SampleLinkId123".into()),
        date_raw: Some("2026-11-12 12:00:00".into()),
        sent_at: Some(day(12)),
        received_at: now(),
        network_code: Some("63902".into()),
        stop_word: text == "STOP",
        raw: format!("id={provider_id}&from=%2B254712345678&text={text}"),
    }
}

#[tokio::test]
async fn a_message_round_trips_and_a_repeat_is_stored_once() {
    on_each_backend(|db| async move {
        let inbox = SeaOrmInboxRepository::new(db.connection.clone());
        let first = message("ATXid_in_1", "+254712345678", "Habari,\nnataka unga");
        assert!(inbox.insert(&first).await.unwrap(), "{:?}", db.backend);
        // A repeated callback: a new id of ours, the same provider id.
        assert!(!inbox.insert(&message("ATXid_in_1", "+254712345678", "STOP")).await.unwrap());
        let page = inbox.list_from("+254712345678", PageRequest::default()).await.unwrap();
        assert_eq!(page.items, [first], "{:?}", db.backend);
        assert_eq!(page.next, None);

        // Concurrent repeats: exactly one is stored, none fails.
        let repeats: Vec<_> = (0..6).map(|_| message("ATXid_in_2", "+254712345678", "STOP")).collect();
        let results = futures_util::future::join_all(repeats.iter().map(|m| inbox.insert(m))).await;
        let stored = results.iter().filter(|r| matches!(r, Ok(true))).count();
        let repeated = results.iter().filter(|r| matches!(r, Ok(false))).count();
        assert_eq!((stored, repeated), (1, 5), "{:?}: {results:?}", db.backend);
    })
    .await;
}

#[tokio::test]
async fn a_senders_messages_page_newest_first() {
    on_each_backend(|db| async move {
        let inbox = SeaOrmInboxRepository::new(db.connection.clone());
        let mut ids = Vec::new();
        for n in 0..5 {
            let m = message(&format!("ATXid_p{n}"), "+254711000001", "Asante");
            inbox.insert(&m).await.unwrap();
            ids.push(m.id);
            inbox.insert(&message(&format!("ATXid_o{n}"), "+254711000002", "Asante")).await.unwrap();
        }
        ids.reverse();
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = inbox.list_from("+254711000001", PageRequest::new(before, Some(2)).unwrap()).await.unwrap();
            assert!(page.items.len() <= 2);
            seen.extend(page.items.iter().map(|m| m.id));
            match page.next {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ids, "{:?}", db.backend);
        assert!(inbox.list_from("+254700000000", PageRequest::default()).await.unwrap().items.is_empty());
    })
    .await;
}
