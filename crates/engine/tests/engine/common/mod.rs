//! Small loaders for the shipped data files, shared by the integration tests
//! and benches. Not library code: the engine itself does no I/O.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use supplyrisk_engine::{Governance, GprBuilder, GprDataset, Importer, Stage, StageData, SupplyInputs};

/// Finds a shipped data file: under the repository's `data/` when it is
/// there (at `data/<rel>`, or by file name in any `data/*/` folder, since
/// the layout there may differ), else at `../shared/data/<rel>` beside the
/// repository. `None` (with a printed message) when neither exists, so
/// callers can skip.
pub fn data_file(rel: &str) -> Option<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = repo.join("data");
    let direct = data.join(rel);
    if direct.is_file() {
        return Some(direct);
    }
    if let (Some(name), Ok(dirs)) = (Path::new(rel).file_name(), std::fs::read_dir(&data)) {
        let mut found: Vec<PathBuf> = dirs
            .flatten()
            .map(|d| d.path().join(name))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        if let Some(p) = found.into_iter().next() {
            return Some(p);
        }
    }
    let shared = repo.join("../shared/data").join(rel);
    if shared.is_file() {
        return Some(shared);
    }
    eprintln!("skipping: data file {rel} not found under data/ or ../shared/data/");
    None
}

/// Reads a (possibly gzipped) text file.
pub fn read_text(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("readable data file");
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .expect("gzip text");
        s
    } else {
        String::from_utf8(bytes).expect("utf-8")
    }
}

fn rows(text: &str) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let header = r.headers().expect("header").clone();
    let rows = r.records().map(|x| x.expect("csv row")).collect();
    (header, rows)
}

fn col(header: &csv::StringRecord, name: &str) -> usize {
    header
        .iter()
        .position(|h| h.trim_start_matches('\u{feff}') == name)
        .unwrap_or_else(|| panic!("column {name}"))
}

fn num(s: &str) -> Option<f64> {
    let s = s.trim();
    match s {
        "" | "NA" | "nan" | "NaN" | "None" => None,
        _ => s.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

pub const BACI: &str = "baci-critical/baci_hs92_V202401b_critical_2018-2024.csv.gz";
pub const BACI_PRODUCTS: &str = "baci-critical/product_codes_HS92_V202401b_critical.csv";
pub const BACI_COUNTRIES: &str = "baci-critical/country_codes_V202401b.csv";
pub const WMD: &str = "world-mining-data/wmd_production_2018-2024_long.csv";
pub const HS_MAP: &str = "world-mining-data/hs_code_map.csv";
pub const COUNTRY_ISO: &str = "world-mining-data/country_iso.csv";
pub const WGI_PV: &str = "wgi-pv-geopolrisk/wgi_pv_estimate_and_normalized_long.csv";
pub const WGI_FULL: &str = "worldbank-wgi/WGIData.csv";

/// A usable material of the HS code map.
#[derive(Debug, Clone)]
pub struct MapRow {
    pub reference_id: String,
    pub sheet: String,
    pub stage: Stage,
    pub eol_rir: Option<f64>,
    pub hs: Vec<u32>,
}

/// The usable rows of the HS code map (HS code available, symbol present).
pub fn hs_map(text: &str) -> Vec<MapRow> {
    let (h, rs) = rows(text);
    let (sheet, rid, stage, sym, eol, hs, hs2) = (
        col(&h, "Sheet_name"),
        col(&h, "Reference ID"),
        col(&h, "Supply Chain Stage"),
        col(&h, "Symbol"),
        col(&h, "EoL-RIR (2023)"),
        col(&h, "HS Code"),
        col(&h, "HS Code - Complementary"),
    );
    rs.iter()
        .filter(|r| r[hs].trim() != "Not Available" && !r[sym].trim().is_empty())
        .map(|r| {
            let mut codes: Vec<u32> = vec![r[hs].trim().parse().expect("hs code")];
            codes.extend(
                r[hs2]
                    .split(';')
                    .filter(|c| !c.trim().is_empty())
                    .map(|c| c.trim().parse::<u32>().expect("hs")),
            );
            MapRow {
                reference_id: r[rid].to_string(),
                sheet: r[sheet].to_string(),
                stage: if r[stage].trim() == "Processing" {
                    Stage::Processing
                } else {
                    Stage::Mining
                },
                eol_rir: num(&r[eol]),
                hs: codes,
            }
        })
        .collect()
}

/// All shipped files needed for GeoPolRisk, read into memory.
pub struct GprFiles {
    pub hs_map: String,
    pub wmd: String,
    pub baci: String,
    pub products: String,
    pub countries: String,
    pub wgi: String,
}

impl GprFiles {
    pub fn read() -> Option<Self> {
        Some(GprFiles {
            hs_map: read_text(&data_file(HS_MAP)?),
            wmd: read_text(&data_file(WMD)?),
            baci: read_text(&data_file(BACI)?),
            products: read_text(&data_file(BACI_PRODUCTS)?),
            countries: read_text(&data_file(COUNTRY_ISO)?),
            wgi: read_text(&data_file(WGI_PV)?),
        })
    }

    /// Parses and indexes everything into a [`GprDataset`].
    pub fn dataset(&self) -> GprDataset {
        let mut b = GprBuilder::new();
        let (h, rs) = rows(&self.countries);
        let (code, name) = (col(&h, "code"), col(&h, "country"));
        for r in &rs {
            b.country(r[code].parse().expect("code"), &r[name]);
        }
        for m in hs_map(&self.hs_map) {
            b.material(&m.reference_id, &m.sheet, &m.hs);
        }
        let (h, rs) = rows(&self.wmd);
        let (c, cc, y, v, u) = (
            col(&h, "commodity"),
            col(&h, "country_code"),
            col(&h, "year"),
            col(&h, "value"),
            col(&h, "unit"),
        );
        for r in &rs {
            b.production(
                &r[c],
                r[cc].parse().expect("code"),
                r[y].parse().expect("year"),
                num(&r[v]),
                &r[u],
            );
        }
        let (h, rs) = rows(&self.products);
        let code = col(&h, "code");
        let covered: Vec<u32> = rs.iter().map(|r| r[code].parse().expect("hs")).collect();
        b.trade_coverage(&covered);
        for line in self.baci.lines().skip(1) {
            let mut f = line.split(',');
            let (Some(t), Some(i), Some(j), Some(k), Some(v), Some(q)) =
                (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            b.trade(
                t.parse().expect("t"),
                i.parse().expect("i"),
                j.parse().expect("j"),
                k.parse().expect("k"),
                v.parse().expect("v"),
                num(q),
            );
        }
        let (h, rs) = rows(&self.wgi);
        let (row, bc, y, pv) = (
            col(&h, "row_id"),
            col(&h, "baci_code"),
            col(&h, "year"),
            col(&h, "pv_estimate"),
        );
        for r in &rs {
            let Ok(code) = r[bc].parse::<u16>() else {
                continue;
            };
            b.pv(
                r[row].parse().expect("row"),
                code,
                r[y].parse().expect("year"),
                num(&r[pv]),
            );
        }
        b.build().expect("dataset builds")
    }
}

/// Loads the GeoPolRisk dataset from the shipped files, or `None` to skip.
pub fn gpr_dataset() -> Option<GprDataset> {
    GprFiles::read().map(|f| f.dataset())
}

/// Production rows of one (sheet, year): (ISO3, value).
pub type ProductionRows = HashMap<(String, u16), Vec<(String, Option<f64>)>>;
/// BACI rows of one (HS code, year): (exporter, importer, value kUSD, q).
pub type TradeRows = HashMap<(u32, u16), Vec<(String, String, f64, Option<f64>)>>;

/// The shipped data arranged as [`SupplyInputs`] for any material, year and
/// importer (ISO3 codes; BACI 490 "Other Asia, nes" is Taiwan).
pub struct Snapshot {
    pub materials: Vec<MapRow>,
    pub baci_iso3: HashMap<u16, String>,
    /// (sheet, year) → production rows (ISO3, value).
    pub production: ProductionRows,
    /// sheet → unit is kg.
    pub sheet_kg: HashMap<String, bool>,
    /// (hs, year) → BACI rows (exporter ISO3, importer ISO3, value kUSD, q).
    pub trade: TradeRows,
    /// (iso3, year) → six WGI estimates (2023 update, to 2022).
    pub wgi6: HashMap<(String, u16), [Option<f64>; 6]>,
    /// (iso3, year) → PV estimate of the PV series (first table row).
    pub pv: HashMap<(String, u16), Option<f64>>,
}

impl Snapshot {
    pub fn load() -> Option<Self> {
        let countries = read_text(&data_file(BACI_COUNTRIES)?);
        let (h, rs) = rows(&countries);
        let (code, iso3) = (col(&h, "code"), col(&h, "iso3"));
        let mut baci_iso3: HashMap<u16, String> = rs
            .iter()
            .map(|r| (r[code].parse().expect("code"), r[iso3].to_string()))
            .collect();
        baci_iso3.insert(490, "TWN".into());
        let materials = hs_map(&read_text(&data_file(HS_MAP)?));

        let wmd = read_text(&data_file(WMD)?);
        let (h, rs) = rows(&wmd);
        let (c, cc, y, v, u) = (
            col(&h, "commodity"),
            col(&h, "country_code"),
            col(&h, "year"),
            col(&h, "value"),
            col(&h, "unit"),
        );
        let mut production: ProductionRows = HashMap::new();
        let mut sheet_kg = HashMap::new();
        for r in &rs {
            let code: u16 = r[cc].parse().expect("code");
            let iso = baci_iso3.get(&code).cloned().unwrap_or_else(|| format!("#{code}"));
            production
                .entry((r[c].to_string(), r[y].parse().expect("year")))
                .or_default()
                .push((iso, num(&r[v])));
            sheet_kg.insert(r[c].to_string(), r[u].trim() == "kg");
        }

        let baci = read_text(&data_file(BACI)?);
        let mut trade: TradeRows = HashMap::new();
        let iso = |c: &str| -> String {
            let code: u16 = c.parse().expect("code");
            baci_iso3.get(&code).cloned().unwrap_or_else(|| format!("#{code}"))
        };
        for line in baci.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 6 {
                continue;
            }
            trade
                .entry((f[3].parse().expect("k"), f[0].parse().expect("t")))
                .or_default()
                .push((iso(f[1]), iso(f[2]), f[4].parse().expect("v"), num(f[5])));
        }

        let wgi = read_text(&data_file(WGI_FULL)?);
        let (h, rs) = rows(&wgi);
        let (cc, ic) = (col(&h, "Country Code"), col(&h, "Indicator Code"));
        let years: Vec<(usize, u16)> = h
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.trim().parse::<u16>().ok().map(|y| (i, y)))
            .collect();
        let dims = ["CC.EST", "GE.EST", "PV.EST", "RQ.EST", "RL.EST", "VA.EST"];
        let mut wgi6: HashMap<(String, u16), [Option<f64>; 6]> = HashMap::new();
        for r in &rs {
            let Some(d) = dims.iter().position(|x| *x == &r[ic]) else {
                continue;
            };
            for &(i, y) in &years {
                if let Some(v) = r.get(i).and_then(num) {
                    wgi6.entry((r[cc].to_string(), y)).or_insert([None; 6])[d] = Some(v);
                }
            }
        }

        let pvt = read_text(&data_file(WGI_PV)?);
        let (h, rs) = rows(&pvt);
        let (row, bc, y, pvc) = (
            col(&h, "row_id"),
            col(&h, "baci_code"),
            col(&h, "year"),
            col(&h, "pv_estimate"),
        );
        let mut sorted: Vec<&csv::StringRecord> = rs.iter().collect();
        sorted.sort_by_key(|r| r[row].parse::<u32>().expect("row"));
        let mut pv = HashMap::new();
        for r in sorted {
            let Ok(code) = r[bc].parse::<u16>() else {
                continue;
            };
            let Some(iso) = baci_iso3.get(&code) else {
                continue;
            };
            pv.entry((iso.clone(), r[y].parse::<u16>().expect("year")))
                .or_insert(num(&r[pvc]));
        }
        Some(Snapshot {
            materials,
            baci_iso3,
            production,
            sheet_kg,
            trade,
            wgi6,
            pv,
        })
    }

    /// Every importer ISO3 of the BACI country list, sorted.
    pub fn countries(&self) -> Vec<String> {
        let mut v: Vec<String> = self.baci_iso3.values().cloned().collect();
        v.sort();
        v.dedup();
        v
    }

    /// The inputs of one material, year and importer. Production is put at
    /// the map's stage; trade (all HS codes of the material) at the same
    /// stage, values converted from thousand USD to USD.
    pub fn inputs(&self, reference_id: &str, year: u16, importer: Importer) -> Option<SupplyInputs> {
        self.inputs_with(reference_id, year, importer, false)
    }

    /// As [`Snapshot::inputs`]; with `pv_series_only`, governance carries
    /// only the PV series, as the reference implementation sees it (no PV for
    /// Taiwan, whose WGI row has no BACI code).
    pub fn inputs_with(
        &self,
        reference_id: &str,
        year: u16,
        importer: Importer,
        pv_series_only: bool,
    ) -> Option<SupplyInputs> {
        let m = self.materials.iter().find(|m| m.reference_id == reference_id)?;
        let kg = self.sheet_kg.get(&m.sheet).copied().unwrap_or(false);
        let mut stage = StageData::new(m.stage).trade_reported();
        let mut involved: BTreeMap<String, ()> = BTreeMap::new();
        for (c, v) in self.production.get(&(m.sheet.clone(), year))? {
            stage = stage.producer(c, v.map(|v| if kg { v / 1000.0 } else { v }));
            involved.insert(c.clone(), ());
        }
        // BACI codes without an ISO3 stay as `#code`: plain codes, which is
        // why the reference goes through the engine's code-level builders
        // rather than the domain's checked flows.
        for k in &m.hs {
            for (i, j, v, q) in self.trade.get(&(*k, year)).map(Vec::as_slice).unwrap_or(&[]) {
                if importer.contains(j) {
                    stage = stage.import(j, i, v * 1000.0, *q);
                    involved.insert(i.clone(), ());
                }
                if importer.contains(i) {
                    stage = stage.export(i, j, v * 1000.0, *q);
                }
            }
        }
        let mut inputs = SupplyInputs::new(reference_id, year, importer).stage(stage);
        if let Some(e) = m.eol_rir {
            inputs = inputs.eol_rir(e);
        }
        let wgi_year = year.min(2022);
        for c in involved.keys() {
            let six = if pv_series_only {
                [None; 6]
            } else {
                self.wgi6.get(&(c.clone(), wgi_year)).copied().unwrap_or([None; 6])
            };
            let pv = self.pv.get(&(c.clone(), year)).copied().flatten();
            let g = Governance {
                cc: six[0],
                ge: six[1],
                pv: six[2],
                rq: six[3],
                rl: six[4],
                va: six[5],
                pv_series: pv,
                wgi_year: (wgi_year < year).then_some(wgi_year),
                fallback_from: None,
            };
            if six.iter().any(Option::is_some) || pv.is_some() {
                inputs = inputs.governance(c, g);
            }
        }
        Some(inputs)
    }
}

/// The EU-27 as ISO3 codes, in the reference implementation's order.
pub const EU27_ISO3: [&str; 27] = [
    "AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN", "IRL", "ITA", "LVA",
    "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP", "SWE",
];

/// Relative difference, with an absolute floor for values at zero.
pub fn rel_diff(a: f64, b: f64) -> f64 {
    let scale = a.abs().max(b.abs());
    if scale < 1e-300 { 0.0 } else { (a - b).abs() / scale }
}
