//! Measurement for issue 8's engine choice: the disk store's planned writes (one OTLP
//! protobuf value per trace and write, plus its index entries) into fjall and into redb, one
//! durable commit (fdatasync) per group of 1,000 spans, as group commit would do.

use std::sync::Arc;
use std::time::Instant;

use prost::Message;
use tracehound::model::{AnyValue, SpanKind, SpanRecord};
use tracehound::query::otlp::encode_spans;
use tracehound::testkit::{splitmix64 as mix, SpanBuilder};

const TRACES: u64 = 100_000;
const SPANS: u64 = 10;
const GROUP_TRACES: u64 = 100;

struct Write {
    key: Vec<u8>,
    value: Vec<u8>,
    index: Vec<(u8, Vec<u8>, Vec<u8>)>,
}

fn trace(t: u64) -> (Vec<Arc<SpanRecord>>, u64) {
    let seed = mix(t);
    let spans: Vec<Arc<SpanRecord>> = (0..SPANS)
        .map(|i| {
            let r = mix(seed ^ i);
            let mut b = SpanBuilder::new(
                &format!("service-{}", r % 20),
                &format!("operation-{}", (r >> 8) % 50),
                t as u128 + 1,
                i + 1,
            )
            .kind(if i == 0 { SpanKind::Server } else { SpanKind::Client })
            .timing(t * 10_000_000 + i * 1_000, 1_000 + (r >> 24) % 200_000_000)
            .attr("http.status_code", AnyValue::Int(if (r >> 16) % 50 == 0 { 500 } else { 200 }))
            .attr("customer.tier", AnyValue::String(["free", "pro", "enterprise"][(r % 3) as usize].into()))
            .attr("http.url", AnyValue::String(format!("https://shop.example/api/v1/items/{}", r % 100_000)));
            if i > 0 {
                b = b.parent(1);
            }
            Arc::new(b.build())
        })
        .collect();
    (spans, t * 10_000_000)
}

fn writes() -> (Vec<Vec<Write>>, usize) {
    let mut otlp_bytes = 0;
    let groups = (0..TRACES / GROUP_TRACES)
        .map(|g| {
            (0..GROUP_TRACES)
                .map(|k| {
                    let t = g * GROUP_TRACES + k;
                    let (spans, start) = trace(t);
                    let value = encode_spans(&spans).encode_to_vec();
                    otlp_bytes += value.len();
                    let id = (t as u128 + 1).to_be_bytes();
                    let inv = (u64::MAX - start).to_be_bytes();
                    let mut index = vec![(0u8, id.to_vec(), vec![0u8; 20]), (1, [&inv[..], &id].concat(), Vec::new())];
                    for r in spans.iter() {
                        let h = |s: &str| mix(s.bytes().fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(b as u64)));
                        let svc = h(r.service_name()).to_be_bytes();
                        let op = h(&format!("{}\u{ff}{}", r.service_name(), r.span.name)).to_be_bytes();
                        index.push((2, [&svc[..], &inv, &id].concat(), vec![0u8; 8]));
                        index.push((3, [&op[..], &inv, &id].concat(), vec![0u8; 9]));
                        for kv in &r.span.attributes {
                            let tag = h(&format!("{}\u{ff}{}\u{ff}{}", r.service_name(), kv.key, kv.value.to_text()))
                                .to_be_bytes();
                            index.push((4, [&tag[..], &inv, &id].concat(), Vec::new()));
                        }
                    }
                    index.sort();
                    index.dedup();
                    Write { key: [&id[..], &t.to_be_bytes()].concat(), value, index }
                })
                .collect()
        })
        .collect();
    (groups, otlp_bytes)
}

fn dir_size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(path).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() { dir_size(&entry.path()) } else { meta.len() };
    }
    total
}

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| "/tmp/enginebench-data".into());
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let (groups, otlp_bytes) = writes();
    let spans = (TRACES * SPANS) as f64;
    let entries: usize = groups.iter().flatten().map(|w| w.index.len() + 1).sum();
    println!(
        "workload: {} spans in {} commits of 1,000 spans; {entries} keys; OTLP protobuf {:.1} bytes/span",
        spans,
        groups.len(),
        otlp_bytes as f64 / spans
    );

    // fjall
    {
        let path = std::path::Path::new(&root).join("fjall");
        let db = fjall::Database::builder(&path).open().unwrap();
        let names = ["spans", "traces", "by_start", "by_service", "by_operation", "by_tag"];
        let ks: Vec<fjall::Keyspace> =
            names.iter().map(|n| db.keyspace(n, fjall::KeyspaceCreateOptions::default).unwrap()).collect();
        let start = Instant::now();
        for group in &groups {
            let mut batch = db.batch().durability(None);
            for w in group {
                batch.insert(&ks[0], w.key.clone(), w.value.clone());
                for (which, k, v) in &w.index {
                    batch.insert(&ks[*which as usize + 1], k.clone(), v.clone());
                }
            }
            batch.commit().unwrap();
            db.persist(fjall::PersistMode::SyncData).unwrap();
        }
        let took = start.elapsed().as_secs_f64();
        for k in &ks {
            k.rotate_memtable_and_wait().unwrap();
        }
        db.persist(fjall::PersistMode::SyncAll).unwrap();
        drop(ks);
        drop(db);
        std::thread::sleep(std::time::Duration::from_secs(2));
        let bytes = dir_size(&path);
        println!(
            "fjall: {:.0} spans/s ({took:.2} s), {:.1} bytes on disk per span ({:.2}× OTLP protobuf)",
            spans / took,
            bytes as f64 / spans,
            bytes as f64 / otlp_bytes as f64
        );
    }
    // redb
    {
        let path = std::path::Path::new(&root).join("redb.db");
        let db = redb::Database::create(&path).unwrap();
        const NAMES: [&str; 6] = ["spans", "traces", "by_start", "by_service", "by_operation", "by_tag"];
        let start = Instant::now();
        for group in &groups {
            let txn = db.begin_write().unwrap();
            {
                let mut tables: Vec<redb::Table<&[u8], &[u8]>> = NAMES
                    .iter()
                    .map(|n| txn.open_table(redb::TableDefinition::<&[u8], &[u8]>::new(n)).unwrap())
                    .collect();
                for w in group {
                    tables[0].insert(w.key.as_slice(), w.value.as_slice()).unwrap();
                    for (which, k, v) in &w.index {
                        tables[*which as usize + 1].insert(k.as_slice(), v.as_slice()).unwrap();
                    }
                }
            }
            txn.commit().unwrap();
        }
        let took = start.elapsed().as_secs_f64();
        drop(db);
        let bytes = std::fs::metadata(&path).unwrap().len();
        println!(
            "redb: {:.0} spans/s ({took:.2} s), {:.1} bytes on disk per span ({:.2}× OTLP protobuf)",
            spans / took,
            bytes as f64 / spans,
            bytes as f64 / otlp_bytes as f64
        );
    }
}
