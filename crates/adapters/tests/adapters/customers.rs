use orderdesk_adapters::testing::on_each_backend;
use orderdesk_adapters::{SeaOrmCustomerRepository, SeaOrmOrderRepository};
use orderdesk_domain::ports::{CustomerRepository, OrderRepository};
use orderdesk_domain::{CustomerCode, CustomerEdit, CustomerId, PageRequest, RepoError};

use crate::{actor, customer, day, now, order};

#[tokio::test]
async fn customer_round_trips_unchanged() {
    on_each_backend(|db| async move {
        let repo = SeaOrmCustomerRepository::new(db.connection.clone());
        let alice = customer("ALICE-1");
        repo.insert(&alice, None, &[]).await.unwrap();
        assert_eq!(repo.find(alice.id()).await.unwrap(), Some(alice), "{:?}", db.backend);
        assert_eq!(repo.find(CustomerId::generate()).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn code_is_unique_ignoring_case() {
    on_each_backend(|db| async move {
        let repo = SeaOrmCustomerRepository::new(db.connection.clone());
        repo.insert(&customer("Shop-7"), None, &[]).await.unwrap();
        assert!(matches!(repo.insert(&customer("shop-7"), None, &[]).await, Err(RepoError::Duplicate)));
    })
    .await;
}

#[tokio::test]
async fn concurrent_creates_with_one_code_give_exactly_one_success() {
    on_each_backend(|db| async move {
        let repo = SeaOrmCustomerRepository::new(db.connection.clone());
        let attempts: Vec<_> = (0..8).map(|_| customer("RACE")).collect();
        let results = futures_util::future::join_all(attempts.iter().map(|c| repo.insert(c, None, &[]))).await;
        let successes = results.iter().filter(|r| r.is_ok()).count();
        let duplicates = results.iter().filter(|r| matches!(r, Err(RepoError::Duplicate))).count();
        assert_eq!((successes, duplicates), (1, 7), "{:?}: {results:?}", db.backend);
    })
    .await;
}

#[tokio::test]
async fn update_changes_fields_and_respects_uniqueness() {
    on_each_backend(|db| async move {
        let repo = SeaOrmCustomerRepository::new(db.connection.clone());
        let taken = customer("TAKEN");
        let mut bob = customer("BOB");
        repo.insert(&taken, None, &[]).await.unwrap();
        repo.insert(&bob, None, &[]).await.unwrap();

        bob.change(
            CustomerEdit { code: Some(CustomerCode::parse("bob-2").unwrap()), ..Default::default() },
            now(),
            &actor(),
        );
        repo.update(&bob, None, &[]).await.unwrap();
        assert_eq!(repo.find(bob.id()).await.unwrap().unwrap(), bob);

        bob.change(
            CustomerEdit { code: Some(CustomerCode::parse("taken").unwrap()), ..Default::default() },
            now(),
            &actor(),
        );
        assert!(matches!(repo.update(&bob, None, &[]).await, Err(RepoError::Duplicate)));
        assert!(matches!(repo.update(&customer("GHOST"), None, &[]).await, Err(RepoError::NotFound)));
    })
    .await;
}

#[tokio::test]
async fn customer_with_orders_cannot_be_deleted() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let alice = customer("ALICE");
        customers.insert(&alice, None, &[]).await.unwrap();
        let first = order(&alice, "10.00", day(1));
        orders.insert(&first, &[], None, &[]).await.unwrap();

        let r = customers.delete(alice.id(), None, &[]).await;
        assert!(matches!(r, Err(RepoError::ForeignKey)), "{:?} {r:?}", db.backend);
        assert!(customers.find(alice.id()).await.unwrap().is_some());

        orders.delete(first.id(), None, &[]).await.unwrap();
        customers.delete(alice.id(), None, &[]).await.unwrap();
        assert!(matches!(customers.delete(alice.id(), None, &[]).await, Err(RepoError::NotFound)));
    })
    .await;
}

#[tokio::test]
async fn list_pages_newest_first_without_gaps() {
    on_each_backend(|db| async move {
        let repo = SeaOrmCustomerRepository::new(db.connection.clone());
        let mut ids = Vec::new();
        for n in 0..7 {
            let c = customer(&format!("C{n}"));
            repo.insert(&c, None, &[]).await.unwrap();
            ids.push(c.id());
        }
        ids.reverse();
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = repo.list(PageRequest::new(before, Some(3)).unwrap()).await.unwrap();
            assert!(page.items.len() <= 3);
            seen.extend(page.items.iter().map(|c| c.id()));
            match page.next {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ids);
    })
    .await;
}

#[tokio::test]
async fn language_and_opt_out_round_trip_and_change() {
    use orderdesk_domain::{Language, SmsPreferences};
    on_each_backend(|db| async move {
        let repo = SeaOrmCustomerRepository::new(db.connection.clone());
        let plain = customer("PLAIN");
        repo.insert(&plain, None, &[]).await.unwrap();
        let stored = repo.find(plain.id()).await.unwrap().unwrap();
        assert_eq!((stored.language(), stored.sms_opt_out()), (Language::En, false), "{:?}", db.backend);

        let swahili = SmsPreferences { language: Language::Sw, opted_out: true };
        let mut amina = customer("AMINA").with_sms_preferences(swahili);
        repo.insert(&amina, None, &[]).await.unwrap();
        assert_eq!(repo.find(amina.id()).await.unwrap(), Some(amina.clone()), "{:?}", db.backend);

        let edit = CustomerEdit { language: Some(Language::En), sms_opt_out: Some(false), ..Default::default() };
        amina.change(edit, now(), &actor());
        repo.update(&amina, Some(0), &[]).await.unwrap();
        let stored = repo.find(amina.id()).await.unwrap().unwrap();
        assert_eq!((stored.language(), stored.sms_opt_out(), stored.audit().version), (Language::En, false, 1));
        assert_eq!(stored, amina);
    })
    .await;
}

#[tokio::test]
async fn customers_are_found_by_phone_number_oldest_first() {
    use orderdesk_domain::{PhoneNumber, PhoneRegion};
    on_each_backend(|db| async move {
        let repo = SeaOrmCustomerRepository::new(db.connection.clone());
        let (first, second) = (customer("SHARED-1"), customer("SHARED-2"));
        let mut other = customer("OTHER");
        let elsewhere = PhoneNumber::parse("+254733000111", PhoneRegion::default()).unwrap();
        other.change(CustomerEdit { phone: Some(elsewhere.clone()), ..Default::default() }, now(), &actor());
        for c in [&first, &second, &other] {
            repo.insert(c, None, &[]).await.unwrap();
        }
        let found: Vec<CustomerId> = repo.find_by_phone(first.phone()).await.unwrap().iter().map(|c| c.id()).collect();
        assert_eq!(found, [first.id(), second.id()], "{:?}", db.backend);
        assert_eq!(repo.find_by_phone(&elsewhere).await.unwrap(), [other]);
        let nobody = PhoneNumber::parse("+254700000000", PhoneRegion::default()).unwrap();
        assert!(repo.find_by_phone(&nobody).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn customers_list_matching_every_filter_with_paging() {
    use chrono::Duration;
    use orderdesk_domain::ports::CustomerFilter;
    use orderdesk_domain::{CustomerName, PhoneNumber, PhoneRegion};

    on_each_backend(|db| async move {
        let repo = SeaOrmCustomerRepository::new(db.connection.clone());
        let with = |code: &str, name: &str, phone: &str| {
            let mut c = customer(code);
            let edit = CustomerEdit {
                name: Some(CustomerName::parse(name).unwrap()),
                phone: Some(PhoneNumber::parse(phone, PhoneRegion::default()).unwrap()),
                ..Default::default()
            };
            c.change(edit, c.created_at(), &actor());
            c
        };
        let amina = with("AMINA-01", "Amina Wanjiru", "0712345678");
        let otieno = with("OT_1", "Otieno 100% Maize", "0712345678");
        let baraka = with("BARAKA", "Baraka Mwangi", "0733000111");
        for c in [&amina, &otieno, &baraka] {
            repo.insert(c, None, &[]).await.unwrap();
        }
        let ids = |page: orderdesk_domain::Page<orderdesk_domain::Customer>| {
            page.items.iter().map(|c| c.code().as_str().to_owned()).collect::<Vec<_>>()
        };
        let all = PageRequest::default();
        let list = |filter: CustomerFilter, page: PageRequest| {
            let repo = repo.clone();
            async move { repo.list_matching(&filter, page).await.unwrap() }
        };
        let phone = PhoneNumber::parse("+254712345678", PhoneRegion::default()).unwrap();
        let by_phone = CustomerFilter { phone: Some(phone.clone()), ..Default::default() };
        assert_eq!(ids(list(by_phone.clone(), all).await), ["OT_1", "AMINA-01"], "{:?}", db.backend);
        let by_code = CustomerFilter { code_key: Some("amina-01".into()), ..Default::default() };
        assert_eq!(ids(list(by_code, all).await), ["AMINA-01"]);
        let word = CustomerFilter { text: Some("wanj".into()), ..Default::default() };
        assert_eq!(ids(list(word, all).await), ["AMINA-01"]);
        let literal = CustomerFilter { text: Some("0%".into()), ..Default::default() };
        assert_eq!(ids(list(literal, all).await), ["OT_1"], "% is no wildcard");
        let underscore = CustomerFilter { text: Some("t_".into()), ..Default::default() };
        assert_eq!(ids(list(underscore, all).await), ["OT_1"], "_ is no wildcard");
        let later = CustomerFilter { updated_since: Some(now() + Duration::hours(1)), ..Default::default() };
        assert!(list(later, all).await.items.is_empty());
        let since = CustomerFilter { updated_since: Some(amina.updated_at()), ..by_phone };
        let first = list(since.clone(), PageRequest::new(None, Some(1)).unwrap()).await;
        assert_eq!(ids(first.clone()), ["OT_1"]);
        let second = list(since, PageRequest::new(first.next, Some(1)).unwrap()).await;
        assert_eq!((ids(second.clone()), second.next), (vec!["AMINA-01".to_owned()], None));

        let found = repo.find_many(&[baraka.id(), CustomerId::generate(), amina.id()]).await.unwrap();
        let mut codes: Vec<_> = found.iter().map(|c| c.code().as_str()).collect();
        codes.sort_unstable();
        assert_eq!(codes, ["AMINA-01", "BARAKA"]);
    })
    .await;
}
