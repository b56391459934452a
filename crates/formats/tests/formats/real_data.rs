//! Every shipped file in `data/`, parsed as the service would: counts of
//! records, rejections and skips, and values checked against the files.

use crate::data;
use supplyrisk_domain::{
    FlowDirection, GovernanceDimension, GovernanceIndicator, PolicyEvent, ProductionStat, Stage, TradeFlow,
};
use supplyrisk_formats::{
    Finished, Format, Item, Options, ProductionRecord, ProductionTotal, Record, TotalScope, UsgsValue, ValueFlag,
    parser,
};

/// Parses a shipped file in 64 KiB chunks, as a gRPC upload would arrive.
fn parse_file(format: Format, path: &str) -> Finished {
    let bytes = std::fs::read(data(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut p = parser(format, Options::default());
    let mut items = Vec::new();
    for chunk in bytes.chunks(64 * 1024) {
        p.feed_into(chunk, &mut items);
    }
    let done = p.finish();
    items.extend(done.items);
    Finished {
        items,
        summary: done.summary,
    }
}

fn counts(done: &Finished) -> (u64, u64, u64, u64) {
    (
        done.summary.rows,
        done.summary.records,
        done.summary.rejected,
        done.summary.skipped,
    )
}

fn records(done: &Finished) -> impl Iterator<Item = &Record> {
    done.items.iter().filter_map(|i| match i {
        Item::Record { record, .. } => Some(record),
        _ => None,
    })
}

fn production<'a>(done: &'a Finished, mineral: &str, country: &str, year: u32) -> Vec<&'a ProductionRecord> {
    records(done)
        .filter_map(|r| match r {
            Record::Production(p) if p.stat.mineral == mineral && p.stat.country == country && p.stat.year == year => {
                Some(p)
            }
            _ => None,
        })
        .collect()
}

fn total<'a>(done: &'a Finished, scope: TotalScope, mineral: &str, year: u16) -> Option<&'a ProductionTotal> {
    records(done).find_map(|r| match r {
        Record::Total(t) if t.scope == scope && t.mineral.as_str() == mineral && t.year == year => Some(t),
        _ => None,
    })
}

#[test]
fn baci_trade_flows() {
    let done = parse_file(Format::Baci, "baci/baci_hs92_V202401b_critical_2018-2024.csv.gz");
    // 184,904 rows, each one import and one export flow; every HS code is in the catalog.
    assert_eq!(counts(&done), (184_904, 369_808, 0, 0));
    // Line 2: 2018,4,508,250410,6.629,NA — Afghanistan → Mozambique, natural graphite.
    let first: Vec<_> = done
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Record {
                line: 2,
                record: Record::Trade(f),
            } => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(first.len(), 2);
    assert_eq!((first[0].reporter.as_str(), first[0].partner.as_str()), ("MOZ", "AFG"));
    assert_eq!(first[0].flow, Some(FlowDirection::Import));
    assert_eq!(first[0].hs_code, "250410");
    assert!((first[0].value_usd - 6_629.0).abs() < 1e-6);
    assert_eq!(first[0].net_weight_kg, None);
    assert_eq!((first[1].reporter.as_str(), first[1].partner.as_str()), ("AFG", "MOZ"));
    // Line 175645: 2024,156,392,284690,124369.684,6014.793 — China → Japan, rare-earth compounds.
    let ree = done.items.iter().find_map(|i| match i {
        Item::Record {
            line: 175_645,
            record: Record::Trade(f),
        } if f.flow == Some(FlowDirection::Import) => Some(f),
        _ => None,
    });
    let ree = ree.expect("line 175645");
    assert_eq!(
        (ree.reporter.as_str(), ree.partner.as_str(), ree.year),
        ("JPN", "CHN", 2024)
    );
    assert!((ree.value_usd - 124_369_684.0).abs() < 1e-3);
    assert!((ree.net_weight_kg.expect("weight") - 6_014_793.0).abs() < 1e-3);
    let validated = TradeFlow::validate(ree).expect("valid");
    assert_eq!(validated.mineral.as_str(), "REE");
    // Taiwan (BACI 490, "Other Asia, nes") trades as TWN.
    assert!(records(&done).any(|r| matches!(r, Record::Trade(f) if f.reporter == "TWN")));
    // 12,419 rows have q = NA: their flows have no weight, never 0.
    let no_weight = records(&done)
        .filter(|r| matches!(r, Record::Trade(f) if f.net_weight_kg.is_none()))
        .count();
    assert_eq!(no_weight, 2 * 12_419);
}

#[test]
fn baci_country_codes() {
    let done = parse_file(Format::BaciCountryCodes, "baci/country_codes_V202401b.csv");
    assert_eq!(counts(&done), (238, 238, 0, 0));
    assert!(
        records(&done).any(
            |r| matches!(r, Record::BaciCountry(c) if c.code == 490 && c.iso3 == "TWN" && c.iso3_in_file == "S19")
        )
    );
}

#[test]
fn usgs_world_production() {
    let done = parse_file(Format::UsgsMcsWorld, "usgs-mcs2025/world_data/MCS2025_World_Data.csv");
    assert_eq!(counts(&done), (1_250, 898, 0, 794));
    assert_eq!(done.summary.skipped_by_kind.get("outside_catalog"), Some(&792));
    assert_eq!(done.summary.skipped_by_kind.get("not_used"), Some(&2)); // titanium's partial world totals
    // China's rare-earth mine production 2024 (estimated), REO equivalent.
    let cn = production(&done, "REE", "CHN", 2024);
    assert_eq!(cn.len(), 1);
    assert_eq!(cn[0].stat.quantity, Some(270_000.0));
    assert_eq!(cn[0].stat.unit, "metric tons");
    assert_eq!(cn[0].stat.stage, Some(Stage::Mining));
    assert_eq!(cn[0].stat.source, "USGS_MCS_2025");
    assert_eq!(cn[0].flag, ValueFlag::Estimated);
    assert_eq!(production(&done, "REE", "CHN", 2023)[0].stat.quantity, Some(255_000.0));
    assert_eq!(
        total(&done, TotalScope::World, "REE", 2024).and_then(|t| t.quantity),
        Some(390_000.0)
    );
    assert_eq!(
        total(&done, TotalScope::OtherCountries, "REE", 2024).and_then(|t| t.quantity),
        Some(1_100.0)
    );
    // Burma and "Congo (Kinshasa)" resolve.
    assert_eq!(production(&done, "REE", "MMR", 2023)[0].stat.quantity, Some(43_000.0));
    assert_eq!(production(&done, "CO", "COD", 2024)[0].stat.quantity, Some(220_000.0));
    // Antimony's world total row reads "World total (rounded) 10".
    let sb = total(&done, TotalScope::World, "SB", 2024).expect("antimony total");
    assert_eq!(
        (sb.quantity, sb.label.as_str()),
        (Some(100_000.0), "World total (rounded) 10")
    );
    // Germanium ("Gemanium") is withheld throughout: no figure, never 0.
    let ge = production(&done, "GE", "CHN", 2024);
    assert_eq!(ge[0].stat.quantity, None);
    assert_eq!(
        total(&done, TotalScope::World, "GE", 2024).map(|t| t.quantity),
        Some(None)
    );
    // U.S. lithium is withheld ("W for 23-24").
    let us_li = production(&done, "LI", "USA", 2023);
    assert_eq!((us_li[0].stat.quantity, us_li[0].flag), (None, ValueFlag::Withheld));
    // Titanium: ilmenite + rutile per country; the combined world total.
    assert_eq!(production(&done, "TI", "AUS", 2023)[0].stat.quantity, Some(600.0));
    let sle = production(&done, "TI", "SLE", 2023);
    assert_eq!(
        (sle[0].stat.quantity, sle[0].stat.unit.as_str()),
        (Some(110.0), "metric tons")
    );
    assert!(sle[0].note.contains("UNIT_MEAS blank"));
    assert_eq!(
        total(&done, TotalScope::World, "TI", 2023).and_then(|t| t.quantity),
        Some(9_430.0)
    );
    assert_eq!(
        total(&done, TotalScope::OtherCountries, "TI", 2023).and_then(|t| t.quantity),
        Some(380.0)
    );
    // Every production record passes domain validation.
    for r in records(&done) {
        if let Record::Production(p) = r {
            ProductionStat::validate(&p.stat).expect("valid production");
        }
    }
}

#[test]
fn usgs_salient_statistics() {
    let dir = data("usgs-mcs2025/salient_commodity");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("salient dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with("_salient.csv"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 34);
    let (mut rows, mut recs, mut rejected, mut skipped) = (0, 0, 0, 0);
    let mut nir_qualified = 0;
    for f in &files {
        let done = parse_file(Format::UsgsMcsSalient, &format!("usgs-mcs2025/salient_commodity/{f}"));
        let (a, b, c, d) = counts(&done);
        assert!(b > 0, "{f}: no records (is its Commodity in the catalog?)");
        (rows, recs, rejected, skipped) = (rows + a, recs + b, rejected + c, skipped + d);
        nir_qualified += records(&done)
            .filter(|r| {
                matches!(r, Record::Salient(s) if s.statistic.contains("NIR")
                && matches!(s.value, UsgsValue::GreaterThan(_) | UsgsValue::LessThan(_)))
            })
            .count();
    }
    assert_eq!((rows, recs, rejected, skipped), (176, 2_155, 0, 6));
    assert!(nir_qualified > 0);
    let ree = parse_file(
        Format::UsgsMcsSalient,
        "usgs-mcs2025/salient_commodity/mcs2025-rareee_salient.csv",
    );
    let nir = |stat: &str, year: u16| {
        records(&ree).find_map(|r| match r {
            Record::Salient(s) if s.statistic == stat && s.year == year => Some(s.value),
            _ => None,
        })
    };
    assert_eq!(nir("NIR_Concentrate_t", 2024), Some(UsgsValue::NetExporter));
    assert_eq!(nir("NIR_Compounds-Metals_t", 2023), Some(UsgsValue::GreaterThan(95.0)));
    assert_eq!(nir("NIR_Compounds-Metals_t", 2024), Some(UsgsValue::Number(80.0)));
    let li = parse_file(
        Format::UsgsMcsSalient,
        "usgs-mcs2025/salient_commodity/mcs2025-lithium_salient.csv",
    );
    assert!(
        records(&li)
            .any(|r| matches!(r, Record::Salient(s) if s.statistic == "USprod_t" && s.value == UsgsValue::Withheld))
    );
}

#[test]
fn usgs_net_import_reliance() {
    let done = parse_file(
        Format::UsgsImportReliance,
        "usgs-mcs2025/industry_trends/MCS2025_Fig2_Net_Import_Reliance.csv",
    );
    assert_eq!(counts(&done), (64, 32, 0, 32));
    let find = |id: &str| {
        records(&done).find_map(|r| match r {
            Record::ImportReliance(n) if n.mineral.as_str() == id => Some(n.clone()),
            _ => None,
        })
    };
    let ree = find("REE").expect("rare earths");
    assert_eq!(ree.percent, UsgsValue::Number(80.0));
    let sources: Vec<&str> = ree.major_sources.iter().map(|c| c.as_str()).collect();
    assert_eq!(sources, ["CHN", "MYS", "JPN", "EST"]);
    assert_eq!((ree.year, ree.sources_period), (2024, Some((2020, 2023))));
    assert_eq!(find("GE").map(|n| n.percent), Some(UsgsValue::GreaterThan(50.0)));
    assert_eq!(find("SI").map(|n| n.percent), Some(UsgsValue::LessThan(50.0)));
    // "China3": the footnote marker is dropped.
    assert_eq!(
        find("AL").and_then(|n| n.major_sources.last().map(|c| c.to_string())),
        Some("CHN".into())
    );
}

#[test]
fn world_mining_data() {
    let done = parse_file(
        Format::WorldMiningData,
        "world-mining-data/wmd_production_2018-2024_long.csv",
    );
    assert_eq!(counts(&done), (13_678, 5_411, 0, 8_267));
    let cn = production(&done, "REE", "CHN", 2024);
    assert_eq!(
        (
            cn[0].stat.quantity,
            cn[0].stat.unit.as_str(),
            cn[0].stat.source.as_str()
        ),
        (Some(270_000.0), "metr. t", "WMD")
    );
    assert_eq!(
        production(&done, "GA", "CHN", 2023)[0].stat.stage,
        Some(Stage::Processing)
    );
    // Kosovo carries BACI's "Europe EFTA, nes" code in the file; the WMD name wins.
    let ks = production(&done, "NI", "XKX", 2018);
    assert_eq!(ks[0].stat.quantity, Some(4_790.0));
    assert!(ks[0].note.contains("R20"));
    // Empty cells are not reported: no figure, never 0.
    assert!(
        records(&done).any(
            |r| matches!(r, Record::Production(p) if p.stat.quantity.is_none() && p.flag == ValueFlag::NotReported)
        )
    );
}

#[test]
fn wmd_hs_code_map() {
    let done = parse_file(Format::WmdHsCodeMap, "world-mining-data/hs_code_map.csv");
    assert_eq!(counts(&done), (65, 36, 0, 29));
}

#[test]
fn wgi_databank_layout() {
    let done = parse_file(Format::Wgi, "worldbank-wgi/WGIData.csv");
    // 7,704 rows: 1,284 .EST rows × 24 years = 30,816 cells, of which 1,027
    // are empty; 6,420 other series rows; ANT (historic) is skipped.
    assert_eq!(counts(&done), (7_704, 29_645, 0, 7_453));
    let jpn = records(&done).find_map(|r| match r {
        Record::Governance(g)
            if g.country == "JPN" && g.year == 2022 && g.dimension == Some(GovernanceDimension::Pv) =>
        {
            Some(g.estimate)
        }
        _ => None,
    });
    assert_eq!(jpn, Some(1.073_910_951_614_38));
}

#[test]
fn wgi_pv_long_layout() {
    let done = parse_file(Format::WgiPv, "wgi-pv/wgi_pv_estimate_and_normalized_long.csv");
    assert_eq!(counts(&done), (5_642, 5_191, 0, 451));
    let kinds = &done.summary.skipped_by_kind;
    assert_eq!(kinds.get("missing"), Some(&165));
    // No BACI code: TWN, JEY, LIE, MCO, MTQ, PRI and REU, 26 years each.
    assert_eq!(kinds.get("not_used"), Some(&182));
    assert_eq!(kinds.get("duplicate"), Some(&26)); // Guyana's second series (row_id 82)
    assert_eq!(kinds.get("aggregate"), Some(&26)); // R20, "Europe EFTA, nes"
    assert_eq!(kinds.get("not_a_country"), Some(&52)); // ANT and PUS
    let pv = |iso: &str, year: u32| {
        records(&done).find_map(|r| match r {
            Record::Governance(g) if g.country == iso && g.year == year => Some(g.clone()),
            _ => None,
        })
    };
    let jpn = pv("JPN", 2023).expect("Japan 2023");
    assert_eq!(jpn.estimate, 1.267_425_6);
    GovernanceIndicator::validate(&jpn).expect("valid");
    assert_eq!(pv("JPN", 2024).map(|g| g.estimate), Some(1.134_322_799_999_999_9));
    // The first GUY series wins (row_id 80; its 1996–2022 values are French Guiana's).
    assert_eq!(pv("GUY", 2010).map(|g| g.estimate), Some(0.191_745_474_934_577_94));
    assert_eq!(jpn.dimension, Some(GovernanceDimension::PvSeries));
    // Rows without a BACI code are never read by GeoPolRisk: Taiwan is
    // scored by the WGI, but not in this series.
    assert!(pv("TWN", 2024).is_none());
}

#[test]
fn wgi_pv_guy_defect_matches_french_guiana_in_wgi() {
    let pv = parse_file(Format::WgiPv, "wgi-pv/wgi_pv_estimate_and_normalized_long.csv");
    let wgi = parse_file(Format::Wgi, "worldbank-wgi/WGIData.csv");
    let get = |done: &Finished, iso: &str| {
        records(done)
            .find_map(|r| match r {
                Record::Governance(g)
                    if g.country == iso
                        && g.year == 2010
                        && matches!(
                            g.dimension,
                            Some(GovernanceDimension::Pv | GovernanceDimension::PvSeries)
                        ) =>
                {
                    Some(g.estimate)
                }
                _ => None,
            })
            .expect("estimate")
    };
    assert!((get(&pv, "GUY") - get(&wgi, "GUF")).abs() < 1e-9);
    assert!((get(&pv, "GUY") - get(&wgi, "GUY")).abs() > 0.1);
}

#[test]
fn policy_events() {
    let done = parse_file(Format::PolicyEvents, "policy_events.csv");
    let (rows, recs, rejected, skipped) = counts(&done);
    assert_eq!((rejected, skipped), (0, 0), "{:?}", done.items);
    assert_eq!(rows, recs);
    let events: Vec<PolicyEvent> = records(&done)
        .filter_map(|r| match r {
            Record::Policy(p) => Some(PolicyEvent::validate(p).expect("valid event")),
            _ => None,
        })
        .collect();
    let ga = events
        .iter()
        .find(|e| e.minerals.iter().any(|m| m.as_str() == "GA"))
        .expect("gallium");
    assert_eq!(ga.effective_from.to_string(), "2023-08-01");
    let us_ban = events
        .iter()
        .find(|e| e.target_countries.iter().any(|c| c.as_str() == "USA"))
        .expect("US ban");
    assert_eq!(us_ban.effective_from.to_string(), "2024-12-03");
    assert_eq!(us_ban.effective_until, None, "suspended, not ended");
    let suspended: Vec<String> = us_ban
        .suspensions
        .iter()
        .map(|s| format!("{}..{}", s.from, s.until.map(|u| u.to_string()).unwrap_or_default()))
        .collect();
    assert_eq!(suspended, ["2025-11-09..2026-11-27"]);
    let ids: std::collections::BTreeSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique");
}

#[test]
fn real_files_parse_the_same_in_any_chunking() {
    for (format, path, steps) in [
        (
            Format::UsgsMcsWorld,
            "usgs-mcs2025/world_data/MCS2025_World_Data.csv",
            &[1usize, 7][..],
        ),
        (
            Format::Baci,
            "baci/baci_hs92_V202401b_critical_2018-2024.csv.gz",
            &[7, 4093][..],
        ),
    ] {
        let bytes = std::fs::read(data(path)).expect("file");
        let whole = supplyrisk_formats::parse_all(format, Options::default(), &bytes).items;
        for &step in steps {
            let mut p = parser(format, Options::default());
            let mut items = Vec::new();
            for c in bytes.chunks(step) {
                p.feed_into(c, &mut items);
            }
            items.extend(p.finish().items);
            assert!(items == whole, "{path}: {step}-byte chunks differ");
        }
    }
}

/// The share of `country` at `stage` of `mineral` in a stage-supply file,
/// over the file's world total for that mineral and stage.
fn stage_share(done: &Finished, mineral: &str, stage: Stage, country: &str) -> Option<f64> {
    let world = records(done).find_map(|r| match r {
        Record::Total(t) if t.mineral.as_str() == mineral && t.stage == stage => t.quantity,
        _ => None,
    })?;
    records(done).find_map(|r| match r {
        Record::Production(p)
            if p.stat.mineral == mineral && p.stat.stage == Some(stage) && p.stat.country == country =>
        {
            p.stat.quantity.map(|q| q / world)
        }
        _ => None,
    })
}

#[test]
fn eu_2023_processing_shares_reach_the_rare_earth_elements() {
    let done = parse_file(
        Format::EuCrmSupplyShares,
        "eu-crm-2023/eu_crm2023_global_supply_shares.csv",
    );
    let (_, _, rejected, _) = counts(&done);
    assert_eq!(
        rejected,
        0,
        "{:?}",
        done.items.iter().find(|i| matches!(i, Item::Rejected { .. }))
    );
    let share = |m: &str, s: Stage, c: &str| stage_share(&done, m, s, c).unwrap_or_else(|| panic!("{m} {c}"));
    // The published figures: heavy rare earths are separated only in China,
    // light ones 84.9% in China and 10.5% in Malaysia.
    assert!((share("DY", Stage::Processing, "CHN") - 1.0).abs() < 1e-12);
    assert!((share("TB", Stage::Processing, "CHN") - 1.0).abs() < 1e-12);
    assert!((share("NDPR", Stage::Processing, "CHN") - 0.849).abs() < 1e-12);
    assert!((share("NDPR", Stage::Processing, "MYS") - 0.105).abs() < 1e-12);
    assert!((share("GA", Stage::Processing, "CHN") - 0.938).abs() < 1e-12);
    // Mine-stage shares differ: the chain is not one stage.
    assert!((share("NDPR", Stage::Mining, "CHN") - 0.683).abs() < 1e-12);
    let period = records(&done).find_map(|r| match r {
        Record::Production(p) if p.stat.mineral == "DY" => Some((p.stat.first_year, p.stat.year)),
        _ => None,
    });
    assert_eq!(
        period,
        Some((Some(2016), 2020)),
        "a 2016–2020 average, never read as one year"
    );
}

#[test]
fn iea_2024_refining_shares_and_no_projections() {
    let done = parse_file(
        Format::IeaCmdeSupply,
        "iea-cmde-2025/iea_cmde2025_supply_by_country.csv",
    );
    let (_, _, rejected, _) = counts(&done);
    assert_eq!(rejected, 0);
    let china = stage_share(&done, "REE", Stage::Processing, "CHN").expect("magnet rare earths");
    assert!(
        (china - 0.913).abs() < 0.001,
        "IEA 2024 separation share of China: {china}"
    );
    let graphite = stage_share(&done, "GRAPHITE", Stage::Processing, "CHN").expect("battery graphite");
    assert!((graphite - 0.957).abs() < 0.001, "{graphite}");
    assert!(
        records(&done).all(|r| match r {
            Record::Production(p) => p.stat.year == 2024,
            _ => true,
        }),
        "projections are not observations"
    );
    assert!(done.summary.skipped_by_kind.values().sum::<u64>() > 0);
}
