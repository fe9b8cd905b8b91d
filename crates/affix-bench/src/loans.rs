//! `affix-bench loans`: the loan scheduler with many active loans (issue 7's
//! performance requirement): the time to evaluate one day's due rules and enqueue the
//! actions (reminders, overdue notices), target ≤ 60 s for 1,000,000 loans on 2 cores.
//!
//! 1. A fresh platform store (SQLite in a new directory, or `--database-url`) is opened
//!    with [`affix_platform::launch::open_with_clock`] on a manual clock: no HTTP
//!    server, ledger or background loop, so only the calls below touch the loans.
//! 2. `--loans` active loans are seeded through the platform's `bench` feature
//!    ([`affix_platform::seed`]: multi-row inserts in large transactions, the SQL kept in
//!    the platform), not measured: each a loan note v2 content as the platform makes it (the terms
//!    digest `loan_terms_sha256` over the schedule and the standard rules), a contracts
//!    row, two contract_parties rows and a loans row filled as `open_loan` fills it,
//!    then brought to the state the scheduler leaves after running every day up to the
//!    day before: the actions it would have enqueued (seeded as carried out) and the
//!    new `next_due`. Start dates are spread evenly over 30 days, 6 to 35 days before
//!    the evaluated day; methods (bullet, equal instalments, equal principal), terms
//!    (3 to 24 months), principals and rates are mixed. Nothing is repaid, so a loan
//!    whose first instalment fell due 4 days before is overdue on the day.
//! 3. The clock is set to `--day` (10:00 China time) and
//!    [`affix_platform::Platform::evaluate_due_loans`] is called until no loan has
//!    `next_due` on or before that day. That is what is timed; carrying out the actions
//!    (`carry_out_actions`: the e-mails and SMS) is not part of it.
//!
//! It prints the loans evaluated, the actions enqueued, wall and CPU time (the process
//! by thread group, other processes such as the PostgreSQL server, the machine), and,
//! untimed, the pure part of one loan's evaluation (decode, template, schedule, book,
//! due actions, evidence records) measured alone, so the database's share can be read
//! off.

// Counts, rates and durations are converted between f64 and integers for printing.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use affix_contract::{
    ContractContent, ContractId, LoanBook, LoanNote, LoanTerms, Party, PartyId, Role, RuleSet,
    SigningOrder, Template,
};
use affix_identity::{Date, EmailAddress};
use affix_notify::ManualClock;
use affix_platform::seed::{self, SeedLoan, SeedParty, SeedPerson};
use anyhow::{Context as _, Result, bail};
use sha2::{Digest as _, Sha256};

/// Options of `affix-bench loans`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Active loans seeded.
    #[arg(long, default_value_t = 1_000_000)]
    loans: u64,
    /// The day whose rules are evaluated (China date, YYYY-MM-DD).
    #[arg(long, default_value = "2026-03-16")]
    day: String,
    /// Database URL, e.g. PostgreSQL from `scripts/pg.sh url` (default: SQLite in the
    /// data directory). Use an empty database: the platform migrates it.
    #[arg(long)]
    database_url: Option<String>,
    /// Data directory (default: a fresh directory under the system's temporary
    /// directory). It must not exist yet; removed afterwards unless --keep.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the data directory.
    #[arg(long)]
    keep: bool,
    /// Worker threads of the runtime (default: available cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// Loans generated and inserted per seeding transaction.
const SEED_CHUNK: usize = 10_000;
/// People who lend and borrow (each in many loans).
const PERSONS_MAX: u64 = 20_000;
/// The evaluated day's loans are seeded with start dates this many days before it, plus
/// 0 to 29.
const START_DAYS_BEFORE_MIN: u64 = 6;
/// Loans whose pure evaluation is timed alone.
const PURE_SAMPLE: u64 = 20_000;
/// Loans the scheduler selects per call (`DUE_BATCH` in the platform), to bound the
/// number of calls.
const SCHEDULER_BATCH: u64 = 500;
const TERMS_MONTHS: [u16; 6] = [3, 6, 9, 12, 18, 24];
const RATES_PERCENT: [&str; 5] = ["3.45", "6.00", "8.00", "10.80", "12.00"];
const PURPOSES: [&str; 4] = ["装修 Home renovation", "学费 Tuition", "周转 Cash flow", ""];
const TENANT: &str = "bench-loans";
/// Submitter of the evidence records made in the pure-cost measurement.
const SUBMITTER: &str = "affix-platform";
const DAY_MS: u64 = 86_400_000;
/// 10:00 in China (UTC+8) is 02:00 UTC.
const CLOCK_MS_INTO_DAY: u64 = 2 * 3_600_000;

/// A deterministic 32-byte value for the `n`th thing of kind `label`.
fn derived(label: &str, n: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"affix.dev/bench/loans/v1\0");
    h.update(label.as_bytes());
    h.update(n.to_be_bytes());
    h.finalize().into()
}

fn id16(label: &str, n: u64) -> [u8; 16] {
    let d = derived(label, n);
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

/// Days from 1970-01-01 to `date` (H. Hinnant's `days_from_civil`).
fn unix_days(date: Date) -> i64 {
    let (m, d) = (i64::from(date.month()), i64::from(date.day()));
    let y = i64::from(date.year()) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

fn person_id(n: u64) -> String {
    format!("bench-person-{n:06}")
}

fn person_email(n: u64) -> String {
    format!("person{n}@bench.affix.test")
}

/// The world the loans live in.
struct Seeding {
    day: Date,
    clock_ms: u64,
    persons: u64,
    rules: RuleSet,
}

impl Seeding {
    /// Loan `n`: its note, contract, parties, loan row and earlier actions.
    fn loan(&self, n: u64) -> Result<SeedLoan> {
        let template = Template::loan_note();
        let days_before = START_DAYS_BEFORE_MIN + n % 30;
        let start = affix_contract::add_days(self.day, -(days_before as i64))
            .context("start date out of range")?;
        let created_ms = self.clock_ms - days_before * DAY_MS;
        let variant = n / 30;
        let h = derived("terms", n);
        let principal = 1_000 + u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]) % 199_000);
        let (lender, borrower) = ((2 * n) % self.persons, (2 * n + 1) % self.persons);
        let mut fields = BTreeMap::new();
        fields.insert("lender".to_owned(), format!("出借人 Lender {lender}"));
        fields.insert("borrower".to_owned(), format!("借款人 Borrower {borrower}"));
        fields.insert("principal".to_owned(), format!("{principal}.00"));
        fields.insert(
            "annual_rate_percent".to_owned(),
            RATES_PERCENT[(h[4] as usize) % RATES_PERCENT.len()].to_owned(),
        );
        fields.insert("start_date".to_owned(), start.to_string());
        fields.insert(
            "term_months".to_owned(),
            TERMS_MONTHS[(variant / 3) as usize % TERMS_MONTHS.len()].to_string(),
        );
        fields.insert(
            "repayment_method".to_owned(),
            affix_contract::RepaymentMethod::ALL[(variant % 3) as usize]
                .as_str()
                .to_owned(),
        );
        fields.insert(
            "purpose".to_owned(),
            PURPOSES[(h[5] as usize) % PURPOSES.len()].to_owned(),
        );
        // As the platform creates a loan note: the terms digest over the schedule and
        // the rules goes into the signed fields.
        // Ids ascend with `n` (8 bytes of `n`, then 8 derived ones) so that seeding
        // appends to the primary-key indexes instead of inserting at random places,
        // which with SQLite's default 2 MiB page cache slowed seeding down as the
        // tables grew. The due loans are still every 15th or so, spread over the
        // whole index.
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&n.to_be_bytes());
        id[8..].copy_from_slice(&id16("contract", n)[..8]);
        let id = ContractId::from_bytes(id);
        let note = LoanNote::from_fields(&template.validate(&fields, start)?)?;
        let terms = LoanTerms::new(id, note.schedule()?, self.rules.clone());
        fields.insert("loan_terms_sha256".to_owned(), terms.digest().to_string());
        let validated = template.validate(&fields, start)?;
        let mut parties = Vec::with_capacity(2);
        let mut party_rows = Vec::with_capacity(2);
        for (position, person) in [lender, borrower].into_iter().enumerate() {
            let k = 2 * n + position as u64;
            let party = PartyId::from_bytes(id16("party", k));
            let salt = derived("salt", k);
            parties.push(Party {
                id: party,
                role: if position == 0 {
                    Role::Initiator
                } else {
                    Role::Signer
                },
                display_name: fields[if position == 0 { "lender" } else { "borrower" }].clone(),
                identity: EmailAddress::parse(&person_email(person))?.commitment(&salt),
            });
            party_rows.push(SeedParty {
                id: party,
                person_id: person_id(person),
                salt,
            });
        }
        let content = ContractContent::new(
            id,
            validated,
            parties,
            SigningOrder::Sequential,
            created_ms + 14 * DAY_MS,
        )?;
        // open_loan on the start date, then the scheduler every day up to yesterday.
        let book = LoanBook::new(terms);
        let yesterday = affix_contract::add_days(self.day, -1).context("day out of range")?;
        let mut actions = Vec::new();
        let mut next = book.next_trigger_date(start);
        while let Some(on) = next {
            if on > yesterday {
                break;
            }
            let at_ms = self.clock_ms - (unix_days(self.day) - unix_days(on)) as u64 * DAY_MS;
            actions.extend(book.due_actions(on).into_iter().map(|a| (a, at_ms)));
            next = affix_contract::add_days(on, 1).and_then(|d| book.next_trigger_date(d));
        }
        let parties: [SeedParty; 2] = party_rows
            .try_into()
            .map_err(|_| anyhow::anyhow!("two parties"))?;
        Ok(SeedLoan {
            content,
            created_ms,
            parties,
            head: book.head(),
            next_due: next,
            actions,
        })
    }

    /// Loans `first..first + count`, generated on `threads` threads.
    fn chunk(&self, first: u64, count: u64, threads: usize) -> Result<Vec<SeedLoan>> {
        let per = count.div_ceil(threads as u64).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads as u64)
                .map(|t| {
                    let lo = first + t * per;
                    let hi = (lo + per).min(first + count);
                    s.spawn(move || (lo..hi).map(|n| self.loan(n)).collect::<Result<Vec<_>>>())
                })
                .collect();
            let mut out = Vec::with_capacity(count as usize);
            for h in handles {
                out.extend(
                    h.join()
                        .map_err(|_| anyhow::anyhow!("a seeding thread panicked"))??,
                );
            }
            Ok(out)
        })
    }
}

/// CPU counters: this process by thread group, other processes by name, the machine.
#[derive(Default)]
struct Cpu {
    process_ns: u64,
    threads: HashMap<u64, (String, u64)>,
    others: HashMap<u32, (String, u64)>,
    machine_busy_ticks: u64,
    machine_iowait_ticks: u64,
}

/// utime + stime of a `stat` file (fields 14 and 15, USER_HZ = 100), nanoseconds.
fn stat_ns(stat: &str) -> u64 {
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    if f.len() > 12 {
        (f[11] + f[12]) * 10_000_000
    } else {
        0
    }
}

fn stat_name(stat: &str) -> String {
    stat.split_once('(')
        .and_then(|(_, rest)| rest.rsplit_once(')'))
        .map_or("?", |(name, _)| name)
        .to_owned()
}

fn cpu() -> Cpu {
    let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    let mut out = Cpu {
        process_ns: stat_ns(&read("/proc/self/stat".into())),
        ..Cpu::default()
    };
    for entry in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse().ok()) {
            let stat = read(entry.path().join("stat"));
            out.threads.insert(tid, (stat_name(&stat), stat_ns(&stat)));
        }
    }
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != me {
            let stat = read(entry.path().join("stat"));
            out.others.insert(pid, (stat_name(&stat), stat_ns(&stat)));
        }
    }
    // cpu  user nice system idle iowait irq softirq steal
    let f: Vec<u64> = read("/proc/stat".into())
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    if f.len() >= 8 {
        out.machine_busy_ticks = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
        out.machine_iowait_ticks = f[4];
    }
    out
}

/// Thread group: the name without trailing digits and separators.
fn group_of(name: &str) -> String {
    name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '_' || c == '#')
        .to_owned()
}

/// Core-seconds between two snapshots by name (threads of this process, or other
/// processes), largest first, those under 0.05 s left out.
fn by_name(
    before: &HashMap<u64, (String, u64)>,
    after: &HashMap<u64, (String, u64)>,
) -> Vec<(String, f64)> {
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    for (id, (name, ns)) in after {
        let then = before.get(id).map_or(0, |(_, ns)| *ns);
        *sums.entry(group_of(name)).or_default() += ns.saturating_sub(then);
    }
    let mut out: Vec<(String, f64)> = sums
        .into_iter()
        .map(|(n, ns)| (n, ns as f64 / 1e9))
        .filter(|(_, s)| *s >= 0.05)
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

fn widen(m: &HashMap<u32, (String, u64)>) -> HashMap<u64, (String, u64)> {
    m.iter().map(|(k, v)| (u64::from(*k), v.clone())).collect()
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AFFIX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    if args.loans == 0 {
        bail!("--loans must be at least 1");
    }
    let day = affix_contract::parse_day(&args.day)
        .with_context(|| format!("--day {:?} is not a YYYY-MM-DD date", args.day))?;
    let days = u64::try_from(unix_days(day)).context("--day before 1970")?;
    let clock_ms = days * DAY_MS + CLOCK_MS_INTO_DAY;
    if Date::from_unix_ms_china(clock_ms) != day {
        bail!("clock arithmetic: {clock_ms} ms is not {day} in China");
    }
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let threads = args.threads.unwrap_or(cores).max(1);
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            let mut r = [0u8; 6];
            getrandom::fill(&mut r)?;
            std::env::temp_dir().join(format!("affix-bench-loans-{}", hex::encode(r)))
        }
    };
    if dir.exists() {
        bail!("{} exists: give a new directory", dir.display());
    }
    let config = affix_platform::Config {
        data_dir: dir.clone(),
        database_url: args.database_url.clone(),
        ..affix_platform::Config::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("afx-platform")
        .enable_all()
        .build()?;
    let outcome = rt.block_on(measure(args, config, day, clock_ms, threads));
    drop(rt);
    if args.keep {
        println!("data directory kept: {}", dir.display());
    } else if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    outcome
}

async fn measure(
    args: &Args,
    config: affix_platform::Config,
    day: Date,
    clock_ms: u64,
    threads: usize,
) -> Result<()> {
    let database = config.database_url();
    let engine = affix_platform::store::Engine::of(&database)?;
    // Seeding happens on the day's clock too; the platform reads it only in the
    // measured calls.
    let clock = Arc::new(ManualClock::new(clock_ms));
    let platform = affix_platform::launch::open_with_clock(&config, clock.clone())
        .await
        .context("opening the platform")?;
    println!(
        "loan scheduler benchmark: {} active loans, day {day}, {} ({}), {threads} runtime threads, {} cores",
        args.loans,
        match engine {
            affix_platform::store::Engine::Sqlite => "SQLite (WAL, synchronous=FULL, pool of 4)",
            affix_platform::store::Engine::Postgres => "PostgreSQL (pool of 16)",
        },
        redact(&database),
        std::thread::available_parallelism().map_or(0, usize::from),
    );

    // Seeding (not measured).
    let seed_start = Instant::now();
    let persons = PERSONS_MAX.min(2 * args.loans).max(2);
    let rules = RuleSet::standard();
    let seeding = Seeding {
        day,
        clock_ms,
        persons,
        rules,
    };
    seed::seed_tenant(&platform, TENANT, "Loan scheduler benchmark").await?;
    let people: Vec<SeedPerson> = (0..persons)
        .map(|n| SeedPerson {
            id: person_id(n),
            name: format!("Person {n}"),
            email: person_email(n),
            mobile: format!("+8613{:09}", n % 1_000_000_000),
        })
        .collect();
    seed::seed_persons(&platform, TENANT, &people).await?;
    let yesterday = affix_contract::add_days(day, -1).context("day out of range")?;
    let progress = crate::progress::bar("seeding", args.loans, "loans");
    let mut seeded = 0u64;
    let mut prior_actions = 0u64;
    let (mut generate_s, mut insert_s) = (0.0, 0.0);
    while seeded < args.loans {
        let count = (args.loans - seeded).min(SEED_CHUNK as u64);
        let (gen_threads, first) = (threads, seeded);
        let t = Instant::now();
        let loans = tokio::task::block_in_place(|| seeding.chunk(first, count, gen_threads))?;
        generate_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        prior_actions +=
            seed::seed_loans(&platform, TENANT, &seeding.rules, yesterday, &loans).await?;
        insert_s += t.elapsed().as_secs_f64();
        seeded += count;
        progress.inc(count);
    }
    progress.finish_and_clear();
    // Planner statistics, as autovacuum/ANALYZE would have them on a live database.
    seed::analyze(&platform).await?;
    let seed_s = seed_start.elapsed().as_secs_f64();
    let due = seed::due_loans(&platform, day).await?;
    let actions_before = seed::loan_action_count(&platform).await?;
    println!(
        "seeded: {} loans ({} people, 1 tenant), {prior_actions} earlier actions, in {seed_s:.0} s ({:.0} loans/s: {generate_s:.0} s generating on {threads} threads, {insert_s:.0} s inserting; not the measured figure)",
        args.loans,
        persons,
        args.loans as f64 / seed_s
    );
    println!(
        "due on {day}: {due} loans ({:.2} % of the active loans)",
        100.0 * due as f64 / args.loans as f64
    );

    // The measurement: one day's due rules evaluated and the actions enqueued.
    let rounds_max = due / SCHEDULER_BATCH + 10;
    let cpu_before = cpu();
    let start = Instant::now();
    let mut added = 0u64;
    let mut calls = 0u64;
    loop {
        added += platform
            .evaluate_due_loans()
            .await
            .context("evaluate_due_loans")?;
        calls += 1;
        if !seed::any_loan_due(&platform, day).await? {
            break;
        }
        if calls >= rounds_max {
            bail!("loans still due after {calls} calls of evaluate_due_loans");
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu_after = cpu();

    // Check what was done.
    let evaluated = seed::loans_evaluated_through(&platform, day).await?;
    let actions_after = seed::loan_action_count(&platform).await?;
    if actions_after - actions_before != added || evaluated != due {
        bail!(
            "inconsistent: {added} actions reported, {} stored; {due} loans due, {evaluated} evaluated",
            actions_after - actions_before
        );
    }
    let per_rule: Vec<String> = seed::loan_actions_by_rule(&platform, day)
        .await?
        .into_iter()
        .map(|(rule, n)| format!("{rule} {n}"))
        .collect();

    let loans_per_s = due as f64 / wall;
    let target_s = 60.0;
    println!();
    println!("| measured: evaluate_due_loans until nothing is due on {day} | figure |");
    println!("|---|---:|");
    println!("| loans evaluated | {due} |");
    println!("| actions enqueued | {added} ({}) |", per_rule.join(", "));
    println!("| calls of evaluate_due_loans (500 loans each) | {calls} |");
    println!("| wall time | **{wall:.1} s** |");
    println!(
        "| loans evaluated/s | {loans_per_s:.0} ({:.2} ms a loan) |",
        1000.0 / loans_per_s
    );
    println!(
        "| target: one day of {} active loans in ≤ {target_s:.0} s on 2 cores | {} |",
        args.loans,
        if wall <= target_s { "met" } else { "not met" }
    );
    println!(
        "| scaled to 1,000,000 active loans with the same due share ({:.0} due) | {:.1} s |",
        due as f64 * 1e6 / args.loans as f64,
        wall * 1e6 / args.loans as f64
    );
    let process_s = cpu_after.process_ns.saturating_sub(cpu_before.process_ns) as f64 / 1e9;
    println!(
        "| CPU of this process | {process_s:.1} s ({:.0} µs a loan, {:.0} % of one core) |",
        process_s * 1e6 / due as f64,
        100.0 * process_s / wall
    );
    for (group, s) in by_name(&cpu_before.threads, &cpu_after.threads) {
        println!("| … threads {group} | {s:.1} s |");
    }
    for (name, s) in by_name(&widen(&cpu_before.others), &widen(&cpu_after.others)) {
        println!("| other process {name} | {s:.1} s |");
    }
    let ticks = |a: u64, b: u64| a.saturating_sub(b) as f64 / 100.0;
    let busy = ticks(cpu_after.machine_busy_ticks, cpu_before.machine_busy_ticks);
    println!(
        "| machine busy | {busy:.1} core-s ({:.0} % of {} cores); I/O wait {:.1} core-s |",
        100.0 * busy / (wall * std::thread::available_parallelism().map_or(1, usize::from) as f64),
        std::thread::available_parallelism().map_or(0, usize::from),
        ticks(
            cpu_after.machine_iowait_ticks,
            cpu_before.machine_iowait_ticks
        )
    );
    pure_cost(&platform, day).await?;
    Ok(())
}

/// The pure part of evaluating a loan, timed alone on loans just evaluated: decode the
/// content, the template and typed note, the schedule and terms digest, the book (no
/// events), the rule day's actions and their evidence records. What `evaluate_loan`
/// does besides is SQL.
async fn pure_cost(platform: &affix_platform::Platform, day: Date) -> Result<()> {
    let rows = seed::loans_evaluated_on(platform, day, PURE_SAMPLE).await?;
    let template = Template::loan_note();
    let start = Instant::now();
    let mut actions = 0usize;
    for row in &rows {
        let content = ContractContent::decode(&row.content)?;
        let rules = RuleSet::from_json(&row.rules)?;
        let note = LoanNote::from_fields(&template.validate(content.fields(), day)?)?;
        let terms = LoanTerms::new(content.contract_id(), note.schedule()?, rules);
        let book = LoanBook::replay(terms, &[], &row.head)?;
        for a in book.due_actions(day) {
            std::hint::black_box(a.to_evidence(SUBMITTER, 0)?.encode());
            actions += 1;
        }
        std::hint::black_box(book.next_trigger_date(day));
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "| pure evaluation alone (one thread, {} of the loans, {actions} actions) | {:.0} µs a loan |",
        rows.len(),
        s * 1e6 / rows.len().max(1) as f64
    );
    Ok(())
}

/// The URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}
