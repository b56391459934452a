//! Arbitrary input never panics, and chunking never changes the output.

use std::io::Write;

use proptest::prelude::*;
use supplyrisk_formats::{Format, Item, Options, parse_all, parser};

/// A header each format accepts, so fuzzed rows reach the row parsers.
fn header(format: Format) -> &'static str {
    match format {
        Format::Baci => "t,i,j,k,v,q\n",
        Format::BaciCountryCodes => "code,name,iso2,iso3\n",
        Format::Comtrade => {
            "refYear,refMonth,reporterISO,reporterCode,partnerISO,partnerCode,partnerDesc,flowCode,cmdCode,primaryValue,netWgt,motCode\n"
        }
        Format::UsgsMcsWorld => "SOURCE,COMMODITY,COUNTRY,TYPE,UNIT_MEAS,PROD_2023,PROD_EST_ 2024,PROD_NOTES\n",
        Format::UsgsMcsSalient => "DataSource,Commodity,Year,USprod_t,NIR_pct\n",
        Format::UsgsImportReliance => {
            "Source,Import_Share_Order,Commodity,Net_Import_Reliance_pct_2024,Major_Import_Sources_2020_2023,Notes\n"
        }
        Format::WorldMiningData => "commodity,country,country_code,iso3,year,value,unit,data_source\n",
        Format::WmdHsCodeMap => {
            "Sheet_name,Reference ID,Supply Chain Stage,EoL-RIR (2023),HS Code,HS Code - Complementary,Reference\n"
        }
        Format::WgiPv => "row_id,country,iso3,baci_code,year,pv_estimate\n",
        Format::Wgi => "Country Name,Country Code,Indicator Name,Indicator Code,2021,2022\n",
        Format::PolicyEvents => {
            "id,country,measure,minerals,hs_codes,target_countries,effective_from,effective_until,severity,summary,source_reference\n"
        }
        Format::StageSupply => "mineral,stage,country,period,share,quantity,unit,source\n",
        Format::EuCrmSupplyShares => {
            "source,scope,material,ree_group,stage,country_original,iso3,share,share_as_published,share_flag,trade_param_t,reference_period,notes\n"
        }
        Format::IeaCmdeSupply => {
            "source,material,stage,country_original,iso3,value_kt,world_total_kt,share,year,data_type,reference_period,notes\n"
        }
    }
}

fn chunked(format: Format, bytes: &[u8], sizes: &[usize]) -> Vec<Item> {
    let mut p = parser(
        format,
        Options {
            max_record_bytes: 256,
            ..Options::default()
        },
    );
    let mut items = Vec::new();
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes
            .get(i % sizes.len().max(1))
            .copied()
            .unwrap_or(1)
            .clamp(1, rest.len());
        let (head, tail) = rest.split_at(n);
        p.feed_into(head, &mut items);
        rest = tail;
        i += 1;
    }
    items.extend(p.finish().items);
    items
}

fn whole(format: Format, bytes: &[u8]) -> Vec<Item> {
    parse_all(
        format,
        Options {
            max_record_bytes: 256,
            ..Options::default()
        },
        bytes,
    )
    .items
}

/// Text made of the characters that matter to CSV and to the parsers.
fn csvish() -> impl Strategy<Value = Vec<u8>> {
    let atoms = prop::sample::select(vec![
        ",",
        "\"",
        "\n",
        "\r\n",
        "\r",
        " ",
        "0",
        "1",
        "2023",
        "156",
        "392",
        "284690",
        "NA",
        "nan",
        "W",
        ">50",
        "<25",
        "E",
        "-1",
        "1e400",
        "CHN",
        "JPN",
        "World total (rounded)",
        "Other Countries",
        "Rare earths",
        "Mine production",
        "metric tons",
        "Gallium",
        "GA",
        "licensing",
        "2024-12-03",
        "Congo (Kinshasa)",
        "é",
        "\u{feff}",
        "\u{2212}",
        "PV.EST",
        "..",
        "r",
        "e",
        "Nickel",
        "Kosovo",
        "R20",
        ";",
    ]);
    prop::collection::vec(atoms, 0..200).prop_map(|v| v.concat().into_bytes())
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("write");
    e.finish().expect("finish")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048),
                                sizes in prop::collection::vec(1usize..64, 1..8)) {
        for format in Format::ALL {
            let a = whole(format, &bytes);
            let b = chunked(format, &bytes, &sizes);
            prop_assert_eq!(a, b, "{}", format);
        }
    }

    #[test]
    fn csv_like_rows_never_panic(body in csvish(), sizes in prop::collection::vec(1usize..32, 1..8)) {
        for format in Format::ALL {
            let mut bytes = header(format).as_bytes().to_vec();
            bytes.extend_from_slice(&body);
            let a = whole(format, &bytes);
            let b = chunked(format, &bytes, &sizes);
            prop_assert_eq!(&a, &b, "{}", format);
            let c = chunked(format, &gz(&bytes), &sizes);
            prop_assert_eq!(&a, &c, "{} gzip", format);
            for item in &a {
                prop_assert!(item.line() >= 1);
            }
        }
    }

    #[test]
    fn corrupt_gzip_never_panics(body in csvish(), flip in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>(),
                                 sizes in prop::collection::vec(1usize..32, 1..4)) {
        let mut bytes = header(Format::Baci).as_bytes().to_vec();
        bytes.extend_from_slice(&body);
        let mut packed = gz(&bytes);
        let i = flip.index(packed.len());
        packed[i] ^= 0x5A;
        packed.truncate(cut.index(packed.len()) + 1);
        // Rows decoded before the corruption shows may differ with chunking;
        // whether the stream is reported corrupt may not.
        let corrupt = |items: &[Item]| items.iter().any(|i| matches!(i, Item::Rejected { reason, .. } if reason.starts_with("gzip")));
        let a = whole(Format::Baci, &packed);
        let b = chunked(Format::Baci, &packed, &sizes);
        prop_assert_eq!(corrupt(&a), corrupt(&b));
        if !corrupt(&a) {
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn truncated_gzip_is_reported(body in csvish(), cut in any::<prop::sample::Index>()) {
        let mut bytes = header(Format::Baci).as_bytes().to_vec();
        bytes.extend_from_slice(&body);
        let mut packed = gz(&bytes);
        let keep = 2 + cut.index(packed.len() - 2);
        packed.truncate(keep);
        let items = whole(Format::Baci, &packed);
        let reported = items.iter().any(|i| matches!(i, Item::Rejected { reason, .. } if reason.starts_with("gzip")));
        prop_assert!(reported, "truncated at {} bytes: {:?}", keep, items);
    }
}
