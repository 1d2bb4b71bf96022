//! `infra/` against the code: the parameter files give every stack what it needs, dev and prod
//! differ only where the seed runbook says they do, each function's environment in the templates
//! is exactly what its configuration reads, and the Glue tables describe what the Firehose
//! transform really writes (the handler runs on the example events).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use logmask_firehose::{Config, FirehoseEvent, NoReingest, RecordResult, Transformer};
use logmask_mask::Masker;
use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Value};

const STACK_ORDER: [&str; 6] = ["base", "pipeline", "functions", "query", "monitoring", "access"];

/// The parameters the seed's dev/prod table ("Development環境との違い") lets differ, by row.
const SEED_DIFFERENCES: &[(&str, &str)] = &[
    ("Environment", "the environment itself"),
    ("ConfigurationSetName", "named after the environment (aws-ses-migration-prod-config-set)"),
    ("CreateEmailIdentity", "EmailIdentity: Primary Owner / 依存（共有）"),
    ("DKIMSeparator", "BYODKIM Selector: gooid-21-pro / 開発環境用セレクタ"),
    ("LogRetentionDays", "CloudWatch保持期間: 731 / 30"),
    ("RetentionDays", "S3ログ保持期間: 2555 / 90"),
    ("ArchiveTiers", "S3ログ保持期間: no archive tiers inside 90 days"),
    ("LambdaMemorySize", "Lambda Memory: 512MB / 256MB"),
    ("BounceRateThreshold", "アラート閾値: 厳格設定 / 緩い設定"),
    ("BounceRateCriticalThreshold", "アラート閾値"),
    ("ComplaintRateThreshold", "アラート閾値"),
    ("ComplaintRateCriticalThreshold", "アラート閾値"),
    ("SendSuccessRateThreshold", "アラート閾値"),
    ("EnableIPRestriction", "IP制限: 厳格制御 / 開発用緩和"),
];

fn infra() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra")
}

/// A YAML file as JSON, the way CloudFormation reads its short forms: `!Ref X` becomes
/// `{"Ref": X}`, `!GetAtt`/`!Sub`/… become `{"Fn::GetAtt": …}`, and Sceptre's resolvers
/// (`!stack_output`) keep their own name.
fn load(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs = Yaml::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{}: one YAML document expected", path.display());
    to_json(&docs[0], path)
}

fn to_json(node: &Yaml, path: &Path) -> Value {
    match node {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        Yaml::Value(Scalar::Integer(i)) => Value::from(*i),
        Yaml::Value(Scalar::FloatingPoint(f)) => Value::from(f.0),
        Yaml::Value(Scalar::String(s)) => Value::String(s.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(|i| to_json(i, path)).collect()),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = k.as_str().unwrap_or_else(|| panic!("{}: non-string key {k:?}", path.display()));
                out.insert(key.to_owned(), to_json(v, path));
            }
            Value::Object(out)
        }
        Yaml::Tagged(tag, inner) => {
            let name = match tag.suffix.as_str() {
                "Ref" | "Condition" => tag.suffix.clone(),
                "stack_output" => "stack_output".to_owned(),
                other => format!("Fn::{other}"),
            };
            let mut out = Map::new();
            out.insert(name, to_json(inner, path));
            Value::Object(out)
        }
        other => panic!("{}: unsupported YAML node {other:?} (aliases are not CloudFormation)", path.display()),
    }
}

fn template(name: &str) -> Value {
    load(&infra().join("templates").join(name))
}

fn templates() -> Vec<(String, Value)> {
    let mut names: Vec<String> = fs::read_dir(infra().join("templates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names.into_iter().map(|n| (n.clone(), template(&n))).collect()
}

fn params(env: &str) -> Map<String, Value> {
    load(&infra().join(format!("config/{env}/config.yaml")))["params"].as_object().expect("params map").clone()
}

/// The CloudFormation template a Sceptre stack config deploys.
fn template_of(stack_config: &Value) -> String {
    let path = stack_config["template"]["path"].as_str().expect("template.path");
    if path == "sam_package.py" {
        stack_config["sceptre_user_data"]["template"].as_str().expect("sceptre_user_data.template").to_owned()
    } else {
        path.to_owned()
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn every_parameter_file_gives_every_stack_what_it_needs() {
    for env in ["dev", "prod"] {
        let params = params(env);
        let mut used = BTreeSet::new();
        for (i, stack) in STACK_ORDER.iter().enumerate() {
            let config = load(&infra().join(format!("config/{env}/{stack}.yaml")));
            let tmpl = template(&template_of(&config));
            let declared = tmpl["Parameters"].as_object().unwrap();
            let given = config["parameters"].as_object().cloned().unwrap_or_default();

            // Stack order: each stack depends on the one before it.
            let deps: Vec<String> =
                config["dependencies"].as_array().map(|d| d.iter().map(as_text).collect()).unwrap_or_default();
            let expected_deps: Vec<String> =
                if i == 0 { vec![] } else { vec![format!("{env}/{}.yaml", STACK_ORDER[i - 1])] };
            assert_eq!(deps, expected_deps, "{env}/{stack}: dependencies");

            for (name, spec) in declared {
                assert!(
                    given.contains_key(name) || spec.get("Default").is_some(),
                    "{env}/{stack}: required parameter {name} is not given"
                );
            }
            for (name, value) in &given {
                let spec = declared
                    .get(name)
                    .unwrap_or_else(|| panic!("{env}/{stack}: {name} is not a parameter of the template"));
                if let Some(output) = value.get("stack_output") {
                    // `prod/base.yaml::KmsKeyArn`: an output of an earlier stack of the same environment.
                    let text = as_text(output);
                    let (source, output) = text.split_once("::").expect("stack::Output");
                    let source_stack = source
                        .strip_prefix(&format!("{env}/"))
                        .and_then(|s| s.strip_suffix(".yaml"))
                        .unwrap_or_else(|| panic!("{env}/{stack}: {name} reads {source} from another environment"));
                    let pos = STACK_ORDER.iter().position(|s| *s == source_stack).expect("known stack");
                    assert!(pos < i, "{env}/{stack}: {name} reads a later stack");
                    let source_config = load(&infra().join(format!("config/{env}/{source_stack}.yaml")));
                    let source_tmpl = template(&template_of(&source_config));
                    assert!(
                        source_tmpl["Outputs"].get(output).is_some(),
                        "{env}/{stack}: {source_stack} has no output {output}"
                    );
                    continue;
                }
                let reference = format!("{{{{ stack_group_config.params.{name} }}}}");
                assert_eq!(as_text(value), reference, "{env}/{stack}: {name} must come from the parameter file");
                let actual = params.get(name).unwrap_or_else(|| panic!("{env}: parameter file lacks {name}"));
                used.insert(name.clone());
                check_allowed(&format!("{env}/{stack}: {name}"), spec, &as_text(actual));
            }
        }
        let unused: Vec<&String> = params.keys().filter(|k| !used.contains(*k)).collect();
        assert!(unused.is_empty(), "{env}: parameters no stack takes: {unused:?}");
    }
}

/// The value passes the template's AllowedValues, AllowedPattern and MinValue/MaxValue.
fn check_allowed(what: &str, spec: &Value, value: &str) {
    if let Some(allowed) = spec["AllowedValues"].as_array() {
        let allowed: Vec<String> = allowed.iter().map(as_text).collect();
        let numeric = value.parse::<f64>().ok();
        assert!(
            allowed.iter().any(|a| a == value || (numeric.is_some() && a.parse::<f64>().ok() == numeric)),
            "{what}: {value} not in {allowed:?}"
        );
    }
    if let Some(pattern) = spec["AllowedPattern"].as_str() {
        let re = regex::Regex::new(&format!("^(?:{pattern})$")).unwrap();
        assert!(re.is_match(value), "{what}: {value} does not match {pattern}");
    }
    if spec["Type"] == "Number" {
        let n: f64 = value.parse().unwrap_or_else(|_| panic!("{what}: {value} is not a number"));
        if let Some(min) = spec["MinValue"].as_f64() {
            assert!(n >= min, "{what}: {value} < {min}");
        }
        if let Some(max) = spec["MaxValue"].as_f64() {
            assert!(n <= max, "{what}: {value} > {max}");
        }
    }
}

#[test]
fn dev_and_prod_differ_only_where_the_seed_says() {
    let (dev, prod) = (params("dev"), params("prod"));
    let dev_keys: BTreeSet<&String> = dev.keys().collect();
    let prod_keys: BTreeSet<&String> = prod.keys().collect();
    assert_eq!(dev_keys, prod_keys, "dev and prod set the same parameters");
    let allowed: BTreeSet<&str> = SEED_DIFFERENCES.iter().map(|(k, _)| *k).collect();
    let differing: Vec<&String> = prod.keys().filter(|k| dev[k.as_str()] != prod[k.as_str()]).collect();
    for key in &differing {
        assert!(allowed.contains(key.as_str()), "{key} differs between dev and prod but the seed keeps it equal");
    }
    // The table is not vacuous: the seed's headline differences are really there.
    for key in ["Environment", "LogRetentionDays", "RetentionDays", "LambdaMemorySize", "EnableIPRestriction"] {
        assert!(differing.iter().any(|k| k.as_str() == key), "{key} should differ");
    }
    assert_eq!((prod["LogRetentionDays"].as_i64(), dev["LogRetentionDays"].as_i64()), (Some(731), Some(30)));
    // The stack configs are the same apart from the environment's folder.
    for stack in STACK_ORDER {
        let dev_text = fs::read_to_string(infra().join(format!("config/dev/{stack}.yaml"))).unwrap();
        let prod_text = fs::read_to_string(infra().join(format!("config/prod/{stack}.yaml"))).unwrap();
        assert_eq!(dev_text, prod_text.replace("prod/", "dev/"), "config/{{dev,prod}}/{stack}.yaml");
    }
}

/// Function name (without the project/environment prefix) → environment variable names.
fn template_function_envs() -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (file, tmpl) in templates() {
        for (id, resource) in tmpl["Resources"].as_object().unwrap() {
            if !matches!(resource["Type"].as_str(), Some("AWS::Serverless::Function" | "AWS::Lambda::Function")) {
                continue;
            }
            let name = as_text(&resource["Properties"]["FunctionName"]["Fn::Sub"]);
            let short = name
                .strip_prefix("${ProjectCode}-${Environment}-")
                .unwrap_or_else(|| panic!("{file}: {id} is not named ${{ProjectCode}}-${{Environment}}-NAME"));
            let vars = resource["Properties"]["Environment"]["Variables"]
                .as_object()
                .unwrap_or_else(|| panic!("{file}: {id} has no environment"));
            assert!(out.insert(short.to_owned(), vars.keys().cloned().collect()).is_none(), "{short} twice");
        }
    }
    out
}

#[test]
fn function_environments_are_exactly_what_the_code_reads() {
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    expected.insert("firehose-transform".into(), logmask_firehose::ENV_VARS.iter().map(|s| s.to_string()).collect());
    expected.insert("dkim-manager".into(), logmask_dkim::config::ENV_VARS.iter().map(|s| s.to_string()).collect());
    expected.insert("data-masking".into(), logmask_query::ENV_VARS.iter().map(|s| s.to_string()).collect());
    expected.insert("backfill".into(), logmask_archive::ENV_VARS.iter().map(|s| s.to_string()).collect());
    expected.insert("monitor".into(), logmask_monitor::ENV_VARS.iter().map(|s| s.to_string()).collect());
    let actual = template_function_envs();
    assert_eq!(actual.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "functions in infra/");
    for (name, vars) in &expected {
        let have = &actual[name];
        let missing: Vec<&String> = vars.difference(have).collect();
        let extra: Vec<&String> = have.difference(vars).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{name}: template lacks {missing:?}, sets unknown {extra:?}");
    }
}

// ------------------------------------------------------------------------------------------
// Glue tables against the transform's output.

/// A Hive/Glue column type.
#[derive(Debug, Clone, PartialEq)]
enum HiveType {
    String,
    BigInt,
    Int,
    Double,
    Boolean,
    Array(Box<HiveType>),
    Map(Box<HiveType>),
    Struct(Vec<(String, HiveType)>),
}

fn parse_type(text: &str) -> HiveType {
    let (t, rest) = parse_type_at(text);
    assert!(rest.is_empty(), "trailing {rest:?} in {text}");
    t
}

fn parse_type_at(s: &str) -> (HiveType, &str) {
    let end = s.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(s.len());
    let (word, rest) = s.split_at(end);
    match word {
        "string" => (HiveType::String, rest),
        "bigint" => (HiveType::BigInt, rest),
        "int" => (HiveType::Int, rest),
        "double" => (HiveType::Double, rest),
        "boolean" => (HiveType::Boolean, rest),
        "array" => {
            let (inner, rest) = parse_type_at(rest.strip_prefix('<').expect("array<"));
            (HiveType::Array(Box::new(inner)), rest.strip_prefix('>').expect("array …>"))
        }
        "map" => {
            let rest = rest.strip_prefix("<string,").expect("map<string,");
            let (inner, rest) = parse_type_at(rest);
            (HiveType::Map(Box::new(inner)), rest.strip_prefix('>').expect("map …>"))
        }
        "struct" => {
            let mut rest = rest.strip_prefix('<').expect("struct<");
            let mut fields = Vec::new();
            loop {
                let (name, after) = rest.split_once(':').expect("field:type");
                let (t, after) = parse_type_at(after);
                fields.push((name.to_owned(), t));
                match after.as_bytes().first() {
                    Some(b',') => rest = &after[1..],
                    Some(b'>') => return (HiveType::Struct(fields), &after[1..]),
                    _ => panic!("bad struct near {after:?}"),
                }
            }
        }
        other => panic!("unknown Hive type {other:?}"),
    }
}

/// Checks `value` against `t`, recording each checked path; every object key must be declared.
fn check_value(path: &str, value: &Value, t: &HiveType, seen: &mut BTreeSet<String>) {
    seen.insert(path.to_owned());
    match (t, value) {
        (_, Value::Null) => {}
        (HiveType::String, Value::String(_)) | (HiveType::Boolean, Value::Bool(_)) => {}
        (HiveType::BigInt | HiveType::Int, Value::Number(n)) if n.is_i64() => {}
        (HiveType::Double, Value::Number(_)) => {}
        (HiveType::Array(inner), Value::Array(items)) => {
            for item in items {
                check_value(&format!("{path}[]"), item, inner, seen);
            }
        }
        (HiveType::Map(inner), Value::Object(map)) => {
            for (k, v) in map {
                check_value(&format!("{path}[{k}]"), v, inner, seen);
            }
        }
        (HiveType::Struct(fields), Value::Object(map)) => {
            for (k, v) in map {
                let (_, ft) = fields
                    .iter()
                    .find(|(name, _)| name == k)
                    .unwrap_or_else(|| panic!("{path}.{k} is written by the transform but not declared"));
                check_value(&format!("{path}.{k}"), v, ft, seen);
            }
        }
        (t, v) => panic!("{path}: the transform writes {v} where the table declares {t:?}"),
    }
}

struct Table {
    columns: Vec<(String, HiveType)>,
    partition_keys: Vec<String>,
    location_template: String,
    event_types: Option<Vec<String>>,
}

fn glue_table(name: &str) -> Table {
    let tmpl = template("query.yaml");
    let resource = tmpl["Resources"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| r["Type"] == "AWS::Glue::Table" && r["Properties"]["TableInput"]["Name"] == name)
        .unwrap_or_else(|| panic!("no Glue table {name}"));
    let input = &resource["Properties"]["TableInput"];
    let columns = input["StorageDescriptor"]["Columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (as_text(&c["Name"]), parse_type(&as_text(&c["Type"]))))
        .collect();
    let partition_keys = input["PartitionKeys"].as_array().unwrap().iter().map(|k| as_text(&k["Name"])).collect();
    let location = as_text(&input["Parameters"]["storage.location.template"]["Fn::Sub"]);
    let event_types =
        input["Parameters"]["projection.eventtype.values"].as_str().map(|v| v.split(',').map(str::to_owned).collect());
    Table { columns, partition_keys, location_template: location, event_types }
}

fn run_transform(event_file: &str) -> Vec<(BTreeMap<String, String>, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions/firehose-transform/events").join(event_file);
    let event: FirehoseEvent = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let transformer = Transformer::new(Masker::new(), &Config::default(), NoReingest);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let output = runtime.block_on(transformer.process(event));
    output
        .response
        .records
        .iter()
        .filter(|r| r.result == RecordResult::Ok)
        .map(|r| {
            let keys = r.metadata.as_ref().expect("partition keys on Ok records").partition_keys.to_map();
            let text = String::from_utf8(r.decoded_data().unwrap()).unwrap();
            (keys.into_iter().collect(), text)
        })
        .collect()
}

#[test]
fn glue_tables_match_what_the_transform_writes() {
    let ses = glue_table("ses_events");
    let logs = glue_table("log_events");
    let pipeline = template("pipeline.yaml");
    let prefix =
        as_text(&pipeline["Resources"]["DeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]["Prefix"]);

    // Firehose's prefix, with each `!{partitionKeyFromLambda:k}` read back as the projected
    // column `${lowercase k}`, is the tables' storage location template.
    let projected = regex::Regex::new(r"!\{partitionKeyFromLambda:([A-Za-z]+)\}")
        .unwrap()
        .replace_all(&prefix, |c: &regex::Captures| format!("${{!{}}}", c[1].to_lowercase()))
        .into_owned();
    assert_eq!(ses.location_template, format!("s3://${{MaskedBucketName}}/{projected}"));
    assert_eq!(logs.location_template, ses.location_template.replace("${!eventtype}", "CloudWatchLogs"));

    let mut seen = BTreeSet::new();
    let mut event_types = BTreeSet::new();
    for file in ["ses-batch.json", "cloudwatch-logs.json"] {
        let records = run_transform(file);
        assert!(!records.is_empty(), "{file}: no Ok records");
        for (keys, text) in records {
            let names: Vec<String> = keys.keys().map(|k| k.to_lowercase()).collect();
            let mut expected = ses.partition_keys.clone();
            expected.sort();
            let mut names_sorted = names.clone();
            names_sorted.sort();
            assert_eq!(names_sorted, expected, "partition keys");
            let (year, month, day, hour) = (&keys["year"], &keys["month"], &keys["day"], &keys["hour"]);
            assert!(year.len() == 4 && month.len() == 2 && day.len() == 2 && hour.len() == 2, "{keys:?}");
            let event_type = keys["eventType"].clone();
            event_types.insert(event_type.clone());
            let table = if event_type == "CloudWatchLogs" {
                &logs
            } else {
                let allowed = ses.event_types.as_ref().unwrap();
                assert!(allowed.contains(&event_type), "eventType {event_type} outside the projection {allowed:?}");
                &ses
            };
            // One JSON object per line, each line ending in a newline, so that delivered objects
            // (records concatenated by Firehose) stay JSON Lines.
            assert!(text.ends_with('\n'), "record does not end with a newline: {text:?}");
            for line in text.lines() {
                let Value::Object(object) = serde_json::from_str::<Value>(line).unwrap() else {
                    panic!("not a JSON object: {line}")
                };
                for (field, value) in &object {
                    if table.event_types.is_some() && field == "eventType" {
                        // The partition column carries it (the SES name without spaces).
                        continue;
                    }
                    let (_, t) = table
                        .columns
                        .iter()
                        .find(|(name, _)| name == field)
                        .unwrap_or_else(|| panic!("{event_type}: field {field} has no column"));
                    check_value(field, value, t, &mut seen);
                }
            }
        }
    }
    // The examples cover the kinds of records and most of the schema.
    for kind in
        ["Send", "Delivery", "Bounce", "Complaint", "Click", "RenderingFailure", "DeliveryDelay", "CloudWatchLogs"]
    {
        assert!(event_types.contains(kind), "example events lack {kind}");
    }
    for path in [
        "mail.tags[ses:configuration-set][]",
        "bounce.bouncedRecipients[].emailAddress",
        "delivery.processingTimeMillis",
        "timestamp",
        "message",
    ] {
        assert!(seen.contains(path), "{path} was not checked");
    }
}

#[test]
fn hive_types_parse_as_glue_writes_them() {
    assert_eq!(
        parse_type("struct<a:array<struct<b:bigint>>,c:map<string,array<string>>>"),
        HiveType::Struct(vec![
            ("a".into(), HiveType::Array(Box::new(HiveType::Struct(vec![("b".into(), HiveType::BigInt)])))),
            ("c".into(), HiveType::Map(Box::new(HiveType::Array(Box::new(HiveType::String))))),
        ])
    );
    let mut seen = BTreeSet::new();
    let t = parse_type("struct<a:string>");
    check_value("x", &serde_json::json!({"a": "1"}), &t, &mut seen);
    let undeclared =
        std::panic::catch_unwind(|| check_value("x", &serde_json::json!({"b": 1}), &t, &mut BTreeSet::new()));
    assert!(undeclared.is_err(), "an undeclared field must fail");
    let mistyped =
        std::panic::catch_unwind(|| check_value("x", &serde_json::json!({"a": 1}), &t, &mut BTreeSet::new()));
    assert!(mistyped.is_err(), "a number where a string is declared must fail");
}

#[test]
fn monitor_schedule_is_nine_oclock_in_tokyo() {
    let functions = template("functions.yaml");
    let schedule = functions["Resources"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| r["Type"] == "AWS::Scheduler::Schedule")
        .expect("an EventBridge Scheduler schedule");
    assert_eq!(schedule["Properties"]["ScheduleExpression"], serde_json::json!({"Ref": "MonitorScheduleExpression"}));
    assert_eq!(
        schedule["Properties"]["ScheduleExpressionTimezone"],
        serde_json::json!({"Ref": "MonitorScheduleTimezone"})
    );
    for env in ["dev", "prod"] {
        let p = params(env);
        assert_eq!(p["MonitorScheduleExpression"], "cron(0 9 * * ? *)");
        assert_eq!(p["MonitorScheduleTimezone"], "Asia/Tokyo");
    }
    // No EventBridge rule anywhere: a rule's cron is UTC.
    for (file, tmpl) in templates() {
        for (id, r) in tmpl["Resources"].as_object().unwrap() {
            assert_ne!(r["Type"], "AWS::Events::Rule", "{file}: {id}");
        }
    }
}

// ------------------------------------------------------------------------------------------
// IAM: who reaches raw data, and where a policy may say "*".

fn statements(document: &Value) -> Vec<Value> {
    match &document["Statement"] {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::Array(items) => items.iter().map(as_text).collect(),
        Value::Object(_) => vec![statement["Action"].to_string()], // a Fn::If between two actions
        other => vec![as_text(other)],
    }
}

#[test]
fn readers_never_get_raw_data_and_query_the_masked_tables_only() {
    let access = template("access.yaml");
    let readers = ["OperatorGroup", "ReadonlyGroup", "MonitoringGroup"];
    let mut denied_raw = BTreeSet::new();
    let mut athena_checked = 0;
    for (id, resource) in access["Resources"].as_object().unwrap() {
        if resource["Type"] != "AWS::IAM::ManagedPolicy" {
            continue;
        }
        let groups: Vec<String> =
            resource["Properties"]["Groups"].as_array().unwrap().iter().map(|g| as_text(&g["Ref"])).collect();
        let for_readers = groups.iter().any(|g| readers.contains(&g.as_str()));
        for statement in statements(&resource["Properties"]["PolicyDocument"]) {
            let target = statement["Resource"].to_string();
            match statement["Effect"].as_str() {
                Some("Allow") if for_readers => {
                    assert!(
                        !target.contains("RawBucketName") && !target.contains("/errors/"),
                        "{id} lets {groups:?} read raw data: {statement}"
                    );
                    for action in actions(&statement) {
                        if action.starts_with("athena:") {
                            assert!(target.contains("workgroup/${AthenaWorkGroupName}"), "{id}: {action} on {target}");
                            athena_checked += 1;
                        }
                        // A direct invoke may carry a forged function-URL `requestContext`.
                        if action == "lambda:InvokeFunction" || action == "lambda:*" {
                            assert_eq!(
                                statement["Condition"]["Bool"]["lambda:InvokedViaFunctionUrl"], "true",
                                "{id} lets {groups:?} invoke a function directly: {statement}"
                            );
                        }
                        if action.starts_with("glue:") {
                            for r in statement["Resource"].as_array().unwrap() {
                                let r = as_text(&r["Fn::Sub"]);
                                assert!(
                                    r.ends_with(":catalog")
                                        || r.ends_with("database/${GlueDatabaseName}")
                                        || r.ends_with("table/${GlueDatabaseName}/ses_events")
                                        || r.ends_with("table/${GlueDatabaseName}/log_events"),
                                    "{id}: {action} on {r}"
                                );
                            }
                        }
                    }
                }
                Some("Deny") if target.contains("RawBucketName") => denied_raw.extend(groups.iter().cloned()),
                _ => {}
            }
        }
    }
    assert!(athena_checked > 0, "no Athena permission found");
    for group in readers {
        assert!(denied_raw.contains(group), "{group} is not explicitly denied the raw bucket");
    }
}

#[test]
fn function_roles_name_their_resources() {
    // Actions without resource-level permissions, where "*" is the only possible resource.
    let no_resource_level = ["cloudwatch:GetMetricData"];
    let mut roles = 0;
    for file in ["pipeline.yaml", "functions.yaml"] {
        let tmpl = template(file);
        for (id, resource) in tmpl["Resources"].as_object().unwrap() {
            if resource["Type"] != "AWS::IAM::Role" {
                continue;
            }
            roles += 1;
            for policy in resource["Properties"]["Policies"].as_array().into_iter().flatten() {
                for statement in statements(&policy["PolicyDocument"]) {
                    let target = statement["Resource"].clone();
                    for action in actions(&statement) {
                        if target == "*" {
                            assert!(no_resource_level.contains(&action.as_str()), "{file}: {id}: {action} on *");
                        }
                        if action.starts_with("kms:") {
                            assert_eq!(target, serde_json::json!({"Ref": "KmsKeyArn"}), "{file}: {id}: {action}");
                        }
                        if action == "firehose:PutRecordBatch" && id == "TransformRole" {
                            let stream = as_text(
                                &tmpl["Resources"]["DeliveryStream"]["Properties"]["DeliveryStreamName"]["Fn::Sub"],
                            );
                            assert!(
                                as_text(&target["Fn::Sub"]).ends_with(&format!("deliverystream/{stream}")),
                                "{id} may re-ingest into {target}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(roles >= 8, "only {roles} roles found");
}
