//! Building the dataset: the plain rows the caller parsed, then the
//! indexing into [`GprDataset`] (HHI, domestic production, trade per cell,
//! political stability).

use std::collections::HashMap;

use super::{EU27_BACI, GprCountry, GprDataset, GprMaterial, NO_INDEX};
use crate::error::EngineError;
use crate::governance::pv_normalized;

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

impl GprDataset {
    /// Indexes the rows of `b`.
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
}
