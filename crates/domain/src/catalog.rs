//! The mineral catalog: which minerals supplyrisk knows, which HS codes carry
//! each of them at each supply stage, and how the shipped sources name them.
//!
//! The catalog is data (`data/reference/minerals.toml`), embedded at build
//! time so a binary never starts without it. An HS code belongs to at most
//! one mineral, which gives every trade flow exactly one home.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::suggest;

const MINERALS_TOML: &str = include_str!("../../../data/reference/minerals.toml");

/// A stage of the supply chain, in chain order (ore before oxide before
/// metal before a manufactured product).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Extraction: ores and concentrates.
    Mining,
    /// Processing: separation, refining, chemicals and oxides.
    Processing,
    /// Metals and alloys made from the processed material.
    Metal,
    /// Manufactured products such as permanent magnets.
    Manufacturing,
}

impl Stage {
    /// Lower-case name used in files and keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Mining => "mining",
            Stage::Processing => "processing",
            Stage::Metal => "metal",
            Stage::Manufacturing => "manufacturing",
        }
    }

    /// Parses a stage name as files write it: `mining` (`extraction`),
    /// `processing` (`refining`, `separation`), `metal` (`metals`),
    /// `manufacturing` (`magnets`, `products`).
    pub fn parse(s: &str) -> Option<Stage> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mining" | "extraction" => Some(Stage::Mining),
            "processing" | "refining" | "separation" => Some(Stage::Processing),
            "metal" | "metals" => Some(Stage::Metal),
            "manufacturing" | "magnets" | "products" => Some(Stage::Manufacturing),
            _ => None,
        }
    }
}

/// One stage of a mineral's value chain: what it is called for this
/// mineral and the HS codes that carry it, if the trade data have any.
#[derive(Debug, Clone, Deserialize)]
pub struct StageCodes {
    /// The stage.
    pub stage: Stage,
    /// What the stage is for this mineral, e.g. "separation (oxides and compounds)".
    #[serde(default)]
    pub label: Option<String>,
    /// HS92 6-digit codes; empty when no code of the shipped trade data
    /// carries the stage (its trade is then unknown, never zero).
    #[serde(default)]
    pub hs_codes: Vec<String>,
    /// Why the stage has no trade codes, shown with its score.
    #[serde(default)]
    pub trade_note: Option<String>,
}

/// A source's name for a mineral in a stage-supply study (e.g. the EU 2023
/// assessment's "Neodymium"), mapped to this catalog mineral.
#[derive(Debug, Clone, Deserialize)]
pub struct StageSupplyName {
    /// The study, as the importer labels it: `EU_CRM_2023` or `IEA_CMDE_2025`.
    pub source: String,
    /// The study's material name, exactly as written.
    pub material: String,
}

/// How the USGS world production file names a mineral.
#[derive(Debug, Clone, Deserialize)]
pub struct UsgsWorldName {
    /// `COMMODITY` column, trimmed.
    pub commodity: String,
    /// Prefix of the `TYPE` column selecting the production series.
    pub type_prefix: String,
    /// Stage the series measures.
    pub stage: Stage,
    /// `COUNTRY` label of the world-total row to use when the commodity has
    /// several (e.g. titanium: ilmenite, rutile, and both together).
    #[serde(default)]
    pub world_total: Option<String>,
}

/// A sourced numeric parameter.
#[derive(Debug, Clone, Deserialize)]
pub struct Sourced {
    /// The value.
    pub value: f64,
    /// Where it comes from.
    pub source: String,
}

/// A catalog mineral.
#[derive(Debug, Clone, Deserialize)]
pub struct Mineral {
    /// Stable id, e.g. `REE`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Group this mineral belongs to, e.g. `REE` for `DY`.
    #[serde(default)]
    pub parent: Option<String>,
    /// Other names users and sources use.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Applications served.
    #[serde(default)]
    pub applications: Vec<String>,
    /// HS codes per stage.
    #[serde(default)]
    pub stages: Vec<StageCodes>,
    /// Names in the USGS MCS world production file.
    #[serde(default)]
    pub usgs_world: Vec<UsgsWorldName>,
    /// Code of the USGS MCS salient-statistics file.
    #[serde(default)]
    pub usgs_salient: Option<String>,
    /// World Mining Data sheet name.
    #[serde(default)]
    pub wmd_sheet: Option<String>,
    /// Stage the World Mining Data sheet measures (required with `wmd_sheet`).
    #[serde(default)]
    pub wmd_stage: Option<Stage>,
    /// `Commodity` column of the USGS MCS salient-statistics file.
    #[serde(default)]
    pub usgs_salient_commodity: Option<String>,
    /// `Commodity` labels of the USGS MCS net import reliance table (Fig. 2).
    #[serde(default)]
    pub usgs_nir: Vec<String>,
    /// End-of-life recycling input rate.
    #[serde(default)]
    pub eol_rir: Option<Sourced>,
    /// Substitution index for supply risk (SI_SR).
    #[serde(default)]
    pub substitution_index: Option<Sourced>,
    /// Names of the mineral in stage-supply studies.
    #[serde(default)]
    pub stage_supply: Vec<StageSupplyName>,
}

impl Mineral {
    /// Every HS code of the mineral with its stage.
    pub fn hs_codes(&self) -> impl Iterator<Item = (&str, Stage)> {
        self.stages
            .iter()
            .flat_map(|s| s.hs_codes.iter().map(move |c| (c.as_str(), s.stage)))
    }
}

#[derive(Deserialize)]
struct CatalogFile {
    mineral: Vec<Mineral>,
}

/// The catalog with its lookup indexes.
#[derive(Debug)]
pub struct Catalog {
    minerals: Vec<Mineral>,
    by_id: HashMap<String, usize>,
    by_alias: HashMap<String, usize>,
    by_hs: HashMap<String, (usize, Stage)>,
}

impl Catalog {
    /// The catalog shipped in `data/reference/minerals.toml`.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| Catalog::from_toml(MINERALS_TOML).expect("the bundled catalog is valid"))
    }

    /// Parses and checks a catalog file.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut catalog = Catalog {
            minerals: file.mineral,
            by_id: HashMap::new(),
            by_alias: HashMap::new(),
            by_hs: HashMap::new(),
        };
        for (i, m) in catalog.minerals.iter().enumerate() {
            let valid_id = !m.id.is_empty()
                && m.id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !valid_id {
                return Err(format!("mineral id '{}' must be upper-case letters, digits or _", m.id));
            }
            if m.wmd_sheet.is_some() && m.wmd_stage.is_none() {
                return Err(format!("{}: wmd_sheet needs wmd_stage (mining or processing)", m.id));
            }
            if let Some(e) = &m.eol_rir
                && (!(0.0..=1.0).contains(&e.value) || e.source.trim().is_empty())
            {
                return Err(format!("{}: eol_rir must be within 0–1 and name its source", m.id));
            }
            if let Some(si) = &m.substitution_index
                && (!(si.value > 0.0 && si.value <= 1.0) || si.source.trim().is_empty())
            {
                return Err(format!(
                    "{}: substitution_index must be above 0 and at most 1, and name its source",
                    m.id
                ));
            }
            if m.stages.windows(2).any(|w| w[0].stage >= w[1].stage) {
                return Err(format!("{}: stages must be in chain order, each once", m.id));
            }
            if catalog.by_id.insert(m.id.clone(), i).is_some() {
                return Err(format!("duplicate mineral id {}", m.id));
            }
            for (code, stage) in m.hs_codes() {
                if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
                    return Err(format!("{}: HS code '{code}' is not 6 digits", m.id));
                }
                if let Some((other, _)) = catalog.by_hs.insert(code.to_string(), (i, stage)) {
                    return Err(format!(
                        "HS code {code} belongs to both {} and {}",
                        catalog.minerals[other].id, m.id
                    ));
                }
            }
        }
        for (i, m) in catalog.minerals.iter().enumerate() {
            if let Some(parent) = &m.parent
                && !catalog.by_id.contains_key(parent)
            {
                return Err(format!("{}: unknown parent {parent}", m.id));
            }
            for alias in m.aliases.iter().chain([&m.name]) {
                catalog.by_alias.entry(alias.to_lowercase()).or_insert(i);
            }
        }
        Ok(catalog)
    }

    /// Every mineral, in catalog order.
    pub fn minerals(&self) -> &[Mineral] {
        &self.minerals
    }

    /// Position of the mineral with this exact id in [`Catalog::minerals`].
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The mineral with this exact id.
    pub fn get(&self, id: &str) -> Option<&Mineral> {
        self.by_id.get(id).map(|&i| &self.minerals[i])
    }

    /// The mineral for an id (any case) or alias (e.g. "rare earths").
    pub fn resolve(&self, name: &str) -> Option<&Mineral> {
        let trimmed = name.trim();
        self.get(&trimmed.to_ascii_uppercase())
            .or_else(|| self.by_alias.get(&trimmed.to_lowercase()).map(|&i| &self.minerals[i]))
    }

    /// The mineral and stage an HS code carries.
    pub fn by_hs_code(&self, code: &str) -> Option<(&Mineral, Stage)> {
        self.by_hs.get(code).map(|&(i, stage)| (&self.minerals[i], stage))
    }

    /// The value chain of `mineral`: its own stages, or its group's when it
    /// has none (an element is separated, made into metal and traded with its group).
    pub fn chain<'a>(&'a self, mineral: &'a Mineral) -> &'a [StageCodes] {
        &self.trade_home(mineral).stages
    }

    /// The catalog minerals a study's material name maps to.
    pub fn by_stage_supply_name(&self, source: &str, material: &str) -> Vec<&Mineral> {
        let material = material.trim();
        self.minerals
            .iter()
            .filter(|m| {
                m.stage_supply
                    .iter()
                    .any(|n| n.source == source && n.material.trim().eq_ignore_ascii_case(material))
            })
            .collect()
    }

    /// The mineral whose trade data `id` uses: itself, or its group when it has no HS codes.
    pub fn trade_home<'a>(&'a self, mineral: &'a Mineral) -> &'a Mineral {
        match (&mineral.parent, mineral.stages.is_empty()) {
            (Some(parent), true) => self.get(parent).unwrap_or(mineral),
            _ => mineral,
        }
    }

    /// Every known application, sorted.
    pub fn applications(&self) -> Vec<&str> {
        let mut apps: Vec<&str> = self
            .minerals
            .iter()
            .flat_map(|m| m.applications.iter().map(String::as_str))
            .collect();
        apps.sort_unstable();
        apps.dedup();
        apps
    }

    /// The mineral ids closest to `input`, for error messages.
    pub fn suggest(&self, input: &str, n: usize) -> Vec<String> {
        let candidates = self.minerals.iter().flat_map(|m| {
            std::iter::once((m.id.as_str(), m.id.as_str()))
                .chain(std::iter::once((m.id.as_str(), m.name.as_str())))
                .chain(m.aliases.iter().map(move |a| (m.id.as_str(), a.as_str())))
        });
        suggest::closest(input, candidates, n)
    }
}

/// A validated catalog mineral id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MineralId(String);

/// Why a mineral was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MineralError {
    /// Empty input.
    #[error("is required (a catalog mineral id, e.g. REE)")]
    Missing,
    /// Not in the catalog.
    #[error("unknown mineral '{input}'; did you mean {}?", .suggestions.join(", "))]
    Unknown {
        /// The input.
        input: String,
        /// Closest catalog ids.
        suggestions: Vec<String>,
    },
}

impl MineralId {
    /// Resolves an id or alias against the built-in catalog.
    pub fn parse(input: &str) -> Result<Self, MineralError> {
        if input.trim().is_empty() {
            return Err(MineralError::Missing);
        }
        let catalog = Catalog::builtin();
        catalog
            .resolve(input)
            .map(|m| MineralId(m.id.clone()))
            .ok_or_else(|| MineralError::Unknown {
                input: input.to_string(),
                suggestions: catalog.suggest(input, 3),
            })
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The catalog entry.
    pub fn mineral(&self) -> &'static Mineral {
        Catalog::builtin()
            .get(&self.0)
            .expect("a MineralId is always in the catalog")
    }
}

impl fmt::Display for MineralId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_covers_the_required_minerals() {
        let c = Catalog::builtin();
        for id in [
            "REE",
            "NDPR",
            "DY",
            "TB",
            "LI",
            "CO",
            "NI",
            "GRAPHITE",
            "SYNGRAPHITE",
            "GA",
            "GE",
            "W",
            "SB",
            "MG",
            "MN",
            "PGM",
            "PT",
            "PD",
            "V",
            "NB",
            "TA",
            "TI",
            "IN",
            "FLUORSPAR",
            "SI",
        ] {
            assert!(c.get(id).is_some(), "catalog lacks {id}");
        }
    }

    #[test]
    fn hs_codes_resolve_to_one_mineral_and_stage() {
        let c = Catalog::builtin();
        let (m, stage) = c.by_hs_code("284690").expect("rare-earth compounds are mapped");
        assert_eq!((m.id.as_str(), stage), ("REE", Stage::Processing));
        let (m, stage) = c.by_hs_code("261100").expect("tungsten ores are mapped");
        assert_eq!((m.id.as_str(), stage), ("W", Stage::Mining));
        assert!(c.by_hs_code("999999").is_none());
    }

    #[test]
    fn aliases_and_suggestions() {
        assert_eq!(MineralId::parse("rare earths").map(|m| m.to_string()), Ok("REE".into()));
        assert_eq!(MineralId::parse("dy").map(|m| m.to_string()), Ok("DY".into()));
        match MineralId::parse("lithum") {
            Err(MineralError::Unknown { suggestions, .. }) => assert_eq!(suggestions[0], "LI"),
            other => panic!("expected unknown, got {other:?}"),
        }
        let c = Catalog::builtin();
        let dy = c.get("DY").expect("DY");
        assert_eq!(c.trade_home(dy).id, "REE");
    }

    #[test]
    fn source_names_are_data() {
        let c = Catalog::builtin();
        let ti = c.get("TI").expect("TI");
        assert_eq!(
            ti.usgs_world[0].world_total.as_deref(),
            Some("World total (ilmenite and rutile, rounded)")
        );
        assert_eq!(c.get("GA").and_then(|m| m.wmd_stage), Some(Stage::Processing));
        assert_eq!(c.get("REE").and_then(|m| m.wmd_stage), Some(Stage::Mining));
        assert_eq!(
            c.get("LI").and_then(|m| m.usgs_salient_commodity.as_deref()),
            Some("Lithium")
        );
        assert!(
            c.get("REE")
                .is_some_and(|m| m.usgs_nir.iter().any(|n| n == "RARE EARTHS, compounds and metals"))
        );
        for m in c.minerals() {
            assert_eq!(m.wmd_sheet.is_some(), m.wmd_stage.is_some(), "{}", m.id);
        }
    }

    #[test]
    fn substitution_indexes_come_from_the_eu_assessment_with_a_source() {
        let c = Catalog::builtin();
        let si = |id: &str| c.get(id).and_then(|m| m.substitution_index.as_ref()).map(|s| s.value);
        assert_eq!(si("CO"), Some(0.98));
        assert_eq!(si("CU"), Some(0.71));
        assert_eq!(si("DY"), Some(0.99));
        // The assessment publishes no value for the rare-earth group as a whole.
        assert_eq!(si("REE"), None);
        for m in c.minerals() {
            if let Some(s) = &m.substitution_index {
                assert!(s.value > 0.0 && s.value <= 1.0, "{}", m.id);
                assert!(s.source.contains("2023"), "{}: {}", m.id, s.source);
            }
        }
    }

    #[test]
    fn out_of_range_terms_are_refused() {
        let mineral = |term: &str| format!("[[mineral]]\nid = \"X\"\nname = \"X\"\napplications = []\n{term}\n");
        for bad in [
            r#"substitution_index = { value = 0.0, source = "s" }"#,
            r#"substitution_index = { value = 1.2, source = "s" }"#,
            r#"substitution_index = { value = 0.9, source = " " }"#,
            r#"eol_rir = { value = -0.1, source = "s" }"#,
        ] {
            assert!(Catalog::from_toml(&mineral(bad)).is_err(), "{bad}");
        }
        let good = mineral(r#"substitution_index = { value = 1.0, source = "s" }"#);
        assert!(Catalog::from_toml(&good).is_ok());
    }

    #[test]
    fn value_chains_are_ordered_stages_and_elements_share_their_groups() {
        let c = Catalog::builtin();
        let ree = c.get("REE").expect("REE");
        let chain: Vec<Stage> = c.chain(ree).iter().map(|s| s.stage).collect();
        assert_eq!(chain, [Stage::Mining, Stage::Processing, Stage::Metal]);
        assert!(c.chain(ree)[0].hs_codes.is_empty() && c.chain(ree)[0].trade_note.is_some());
        assert_eq!(c.by_hs_code("280530").map(|(_, s)| s), Some(Stage::Metal));
        for element in ["NDPR", "DY", "TB", "LREE", "HREE"] {
            let m = c.get(element).expect("element");
            assert_eq!(c.chain(m).len(), 3, "{element} has the rare-earth chain");
            assert!(!m.stage_supply.is_empty(), "{element} has stage supply");
        }
        let magnets = c.get("NDFEB").expect("NDFEB is a mineral of its own");
        assert!(magnets.applications.iter().any(|a| a == "magnets"));
        assert_eq!(c.chain(magnets)[0].stage, Stage::Manufacturing);
        assert_eq!(c.by_stage_supply_name("EU_CRM_2023", "Dysprosium").len(), 1);
        let unordered = r#"
[[mineral]]
id = "A"
name = "a"
stages = [{ stage = "processing" }, { stage = "mining" }]
"#;
        assert!(Catalog::from_toml(unordered).unwrap_err().contains("chain order"));
    }

    #[test]
    fn wmd_sheet_needs_a_stage() {
        let text = r#"
[[mineral]]
id = "A"
name = "a"
wmd_sheet = "A"
"#;
        assert!(Catalog::from_toml(text).unwrap_err().contains("wmd_stage"));
    }

    #[test]
    fn duplicate_hs_codes_are_refused() {
        let text = r#"
[[mineral]]
id = "A"
name = "a"
stages = [{ stage = "mining", hs_codes = ["260400"] }]
[[mineral]]
id = "B"
name = "b"
stages = [{ stage = "mining", hs_codes = ["260400"] }]
"#;
        assert!(Catalog::from_toml(text).unwrap_err().contains("260400"));
    }
}
