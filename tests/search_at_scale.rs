//! Search over many tickets: relevance and list orders over a set large
//! enough for every path (ranked in the index, walked in a list order's
//! index, looked up and sorted), with totals exact or capped.

mod common;

use common::{item_ids, total_of, Auth, TestApp};
use helpline::users::Role;

/// 12,000 tickets whose first message mentions a printer (written by SQL;
/// the triggers index them as any ticket). Ticket `i` was last updated at
/// second `12001 - i`, so recency runs against the ticket numbers. Tickets
/// 11001 to 11030 also mention toner, ticket 11010 three times, and ticket
/// 11005 has it in its subject. Ticket 11001 is pending and has a team note
/// about a cartridge.
async fn printers() -> (TestApp, Auth, Auth) {
    let app = TestApp::new().await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (customer_id, customer, _) = app.signed_in("many@customer.example", Role::Customer).await;
    app.state()
        .db
        .write(move |tx| {
            tx.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
                 INSERT INTO tickets (subject, status, priority, channel, requester_id,
                                      created_at, updated_at, public_updated_at)
                 SELECT CASE WHEN i = 11005 THEN 'Toner ' || i ELSE 'Ticket ' || i END,
                        CASE WHEN i = 11001 THEN 3 ELSE 1 END, 2, 'web', ?1,
                        printf('2026-01-01T00:00:%05dZ', i),
                        printf('2026-01-01T00:00:%05dZ', 12001 - i),
                        printf('2026-01-01T00:00:%05dZ', 12001 - i)
                 FROM n",
                [customer_id],
            )?;
            tx.execute(
                "INSERT INTO messages (ticket_id, author_id, body, internal, channel, created_at)
                 SELECT id, ?1,
                        'The printer in room ' || id || ' is broken'
                          || CASE WHEN id = 11010 THEN ' toner toner toner'
                                  WHEN id BETWEEN 11001 AND 11030 THEN ' toner'
                                  ELSE '' END,
                        0, 'web', created_at
                 FROM tickets",
                [customer_id],
            )?;
            tx.execute(
                "INSERT INTO messages (ticket_id, author_id, body, internal, channel, created_at)
                 VALUES (11001, NULL, 'Ordered a cartridge', 1, 'web', '2026-01-02T00:00:00Z')",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    (app, Auth::Bearer(agent), Auth::Bearer(customer))
}

#[rocket::async_test]
async fn relevance_puts_the_best_match_first_and_caps_the_total() {
    let (app, agent, customer) = printers().await;
    // Few matches: all ranked; the subject match first, then the ticket
    // that says it most, then equal matches newest first; the exact total.
    let toner = app.tickets(&agent, "q=toner&per_page=5").await;
    assert_eq!(total_of(&toner), (30, false));
    assert_eq!(
        item_ids(&toner),
        [11005, 11010, 11030, 11029, 11028],
        "{toner}"
    );
    let asked = app
        .tickets(&agent, "q=toner&per_page=5&sort=relevance")
        .await;
    assert_eq!(
        item_ids(&asked),
        item_ids(&toner),
        "sort=relevance is the default order"
    );
    let plain = app.tickets(&agent, "sort=relevance&per_page=2").await;
    assert_eq!(
        item_ids(&plain),
        [1, 2],
        "without a search: most recently updated first"
    );
    let second = app.tickets(&agent, "q=toner&per_page=5&page=2").await;
    assert_eq!(item_ids(&second), [11027, 11026, 11025, 11024, 11023]);
    // With a filter: ranked, then filtered, the exact total.
    let pending = app.tickets(&agent, "q=toner&status=pending").await;
    assert_eq!(
        (item_ids(&pending), total_of(&pending)),
        (vec![11001], (1, false))
    );
    // A word in every ticket: the total stops at 10,000 and says so; the
    // equally good matches come newest first.
    let all = app.tickets(&agent, "q=printer&per_page=3").await;
    assert_eq!(total_of(&all), (10_000, true));
    assert_eq!(item_ids(&all).len(), 3);
    let both = app.tickets(&agent, "q=printer+toner&per_page=3").await;
    assert_eq!(item_ids(&both), [11005, 11010, 11030]);
    // A customer's matches come most recently changed first (a ranking would
    // weigh in the length of the notes they cannot see), notes unseen.
    let theirs = app.tickets(&customer, "q=toner&per_page=2").await;
    assert_eq!(item_ids(&theirs), [11001, 11002]);
    assert_eq!(total_of(&theirs), (30, false));
    assert_eq!(
        total_of(&app.tickets(&customer, "q=cartridge").await),
        (0, false)
    );
    assert_eq!(
        item_ids(&app.tickets(&agent, "q=cartridge").await),
        [11001],
        "agents find the note"
    );
}

#[rocket::async_test]
async fn list_orders_hold_for_many_and_few_matches() {
    let (app, agent, customer) = printers().await;
    // Every ticket matches: the order's index is walked, page after page.
    let newest = app
        .tickets(&agent, "q=printer&sort=-updated_at&per_page=4")
        .await;
    assert_eq!(item_ids(&newest), [1, 2, 3, 4]);
    assert_eq!(total_of(&newest), (10_000, true));
    let further = app
        .tickets(&agent, "q=printer&sort=-updated_at&per_page=4&page=200")
        .await;
    assert_eq!(item_ids(&further), [797, 798, 799, 800]);
    let oldest = app
        .tickets(&agent, "q=printer&sort=created_at&per_page=3")
        .await;
    assert_eq!(item_ids(&oldest), [1, 2, 3]);
    let latest = app
        .tickets(&agent, "q=printer&sort=-created_at&per_page=3")
        .await;
    assert_eq!(item_ids(&latest), [12000, 11999, 11998]);
    // With a filter over many matches: still exact where the set is small.
    let pending = app
        .tickets(&agent, "q=printer&status=pending&sort=-updated_at")
        .await;
    assert_eq!(
        (item_ids(&pending), total_of(&pending)),
        (vec![11001], (1, false))
    );
    // Few matches: looked up and sorted.
    let toner = app
        .tickets(&agent, "q=toner&sort=-updated_at&per_page=3")
        .await;
    assert_eq!(item_ids(&toner), [11001, 11002, 11003]);
    assert_eq!(total_of(&toner), (30, false));
    let toner = app
        .tickets(&agent, "q=toner&sort=updated_at&per_page=3")
        .await;
    assert_eq!(item_ids(&toner), [11030, 11029, 11028]);
    // A customer's view sorts by what they can see change.
    let theirs = app
        .tickets(&customer, "q=toner&sort=-updated_at&per_page=2")
        .await;
    assert_eq!(item_ids(&theirs), [11001, 11002]);
    // Exclusions and alternatives keep their meaning at scale.
    assert_eq!(
        total_of(&app.tickets(&agent, "q=printer+-toner").await),
        (10_000, true)
    );
    let either = app
        .tickets(&agent, "q=toner+OR+cartridge&sort=created_at&per_page=2")
        .await;
    assert_eq!(
        (item_ids(&either), total_of(&either)),
        (vec![11001, 11002], (30, false))
    );
}

#[rocket::async_test]
async fn many_matches_walk_the_orders_index_and_few_are_looked_up() {
    use helpline::http::query::SortOrder;
    use helpline::tickets::found::explain;
    use helpline::tickets::list::{TicketFilter, TicketSort, Viewer};
    use helpline::tickets::search::{parse, SearchQuery};

    let (app, _, _) = printers().await;
    let plans = app
        .state()
        .db
        .read(|c| {
            let mut out = Vec::new();
            for (word, sort) in [
                ("printer", TicketSort::UpdatedAt),
                ("printer", TicketSort::CreatedAt),
                ("toner", TicketSort::UpdatedAt),
            ] {
                let Some(SearchQuery::Text(search)) = parse(word)? else {
                    unreachable!("a word is a text search")
                };
                let filter = TicketFilter::default();
                let plan = explain(c, &search, &filter, Viewer::Staff, (sort, SortOrder::Desc))?;
                out.push((word, plan));
            }
            Ok(out)
        })
        .await
        .unwrap();
    for (word, plan) in plans {
        // The page's ids come first; reading and ordering its 25 rows after is cheap.
        let ids = plan.split(|s| s == "SCAN page").next().unwrap();
        let walks = ids
            .iter()
            .any(|s| s.starts_with("SCAN t USING COVERING INDEX"));
        let sorts = ids.iter().any(|s| s.contains("TEMP B-TREE"));
        if word == "printer" {
            assert!(walks && !sorts, "{word}: {plan:?}");
        } else {
            assert!(!walks && sorts, "{word}: {plan:?}");
        }
    }
}

#[rocket::async_test]
async fn upkeep_merges_the_index_that_writes_split() {
    let app = TestApp::new().await;
    let (customer_id, customer, _) = app.signed_in("one@customer.example", Role::Customer).await;
    let db = app.state().db.clone();
    // One write each: every write leaves a segment (and a tombstone for the
    // document it rewrites) in the index.
    for i in 0..120 {
        db.write(move |tx| {
            tx.execute(
                "INSERT INTO tickets (subject, status, priority, channel, requester_id, created_at, updated_at, public_updated_at)
                 VALUES ('Scanner ' || ?1, 1, 2, 'web', ?2, 't', 't', 't')",
                rusqlite::params![i, customer_id],
            )?;
            tx.execute(
                "INSERT INTO messages (ticket_id, author_id, body, internal, channel, created_at)
                 VALUES (last_insert_rowid(), ?1, 'The scanner jams', 0, 'web', 't')",
                [customer_id],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    }
    let index_rows = || {
        db.read(|c| {
            Ok(
                c.query_row("SELECT COUNT(*) FROM ticket_text_data", [], |r| {
                    r.get::<_, i64>(0)
                })?,
            )
        })
    };
    let split = index_rows().await.unwrap();
    let mut steps = 0;
    while db.write(helpline::tickets::index::tidy).await.unwrap() {
        steps += 1;
        assert!(steps < 100, "upkeep keeps finding work");
    }
    let merged = index_rows().await.unwrap();
    assert!(
        steps > 0 && merged < split,
        "{split} index rows before, {merged} after {steps} steps"
    );
    assert!(
        !db.write(helpline::tickets::index::tidy).await.unwrap(),
        "nothing left to merge"
    );
    let found = app.tickets(&Auth::Bearer(customer), "q=scanner+jams").await;
    assert_eq!(total_of(&found), (120, false));
}

#[rocket::async_test]
async fn upkeep_leaves_a_large_index_alone_for_one_small_write() {
    let (app, agent, _) = printers().await;
    let db = app.state().db.clone();
    let mut steps = 0;
    while db.write(helpline::tickets::index::tidy).await.unwrap() {
        steps += 1;
        assert!(steps < 200, "upkeep keeps finding work");
    }
    // One new ticket beside 12,000 merged ones: not worth rewriting them.
    let res = app
        .call(
            rocket::http::Method::Post,
            "/api/v1/tickets",
            &agent,
            Some(serde_json::json!({
                "subject": "Stapler", "body": "The stapler is empty",
                "requester_email": "new@customer.example"
            })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    assert!(!db.write(helpline::tickets::index::tidy).await.unwrap());
    let found = app.tickets(&agent, "q=stapler").await;
    assert_eq!(total_of(&found), (1, false));
}
