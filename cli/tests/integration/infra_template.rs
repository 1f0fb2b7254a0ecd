//! The SAM template (`infra/template.yaml`) and the function URL events (`events/api-*.json`),
//! read as data and checked for the properties that keep the deployment safe: when extract
//! runs, what triggers load, where failures go, how much may run at once, what each function
//! may touch, how the API is exposed, and that no secret is a plain environment value.
//!
//! The YAML is parsed with `serde_yaml`, which keeps CloudFormation's short-form tags (`!Ref`,
//! `!Sub`, `!GetAtt`, `!If`) as tagged values, so the assertions see exactly what was written.
//! `cfn-lint` (scripts/lint-infra.sh) checks the template against the CloudFormation schemas;
//! these tests check the intent.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_yaml::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

fn template() -> Value {
    let path = root().join("infra/template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_yaml::from_str(&text).expect("infra/template.yaml is valid YAML")
}

fn resource<'a>(t: &'a Value, name: &str) -> &'a Value {
    let r = &t["Resources"][name];
    assert!(!r.is_null(), "resource {name} is missing");
    r
}

fn props<'a>(t: &'a Value, name: &str) -> &'a Value {
    &resource(t, name)["Properties"]
}

/// `(tag, value)` of a short-form intrinsic, tag without the `!`.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_string(),
            &t.value,
        )),
        _ => None,
    }
}

fn is_ref(v: &Value, target: &str) -> bool {
    matches!(intrinsic(v), Some((tag, inner)) if tag == "Ref" && inner.as_str() == Some(target))
}

fn is_get_att(v: &Value, target: &str) -> bool {
    matches!(intrinsic(v), Some((tag, inner)) if tag == "GetAtt" && inner.as_str() == Some(target))
}

/// The template string of a `!Sub`, or a plain string.
fn sub_or_str(v: &Value) -> Option<&str> {
    match intrinsic(v) {
        Some((tag, inner)) if tag == "Sub" => inner.as_str(),
        Some(_) => None,
        None => v.as_str(),
    }
}

/// A parameter's default, for values written as `!Ref Parameter`.
fn param_default<'a>(t: &'a Value, v: &Value) -> &'a Value {
    let (tag, inner) = intrinsic(v).expect("an intrinsic");
    assert_eq!(tag, "Ref");
    let name = inner.as_str().expect("a parameter name");
    let p = &t["Parameters"][name];
    assert!(!p.is_null(), "parameter {name} is missing");
    &p["Default"]
}

fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Sequence(s) => s.iter().collect(),
        Value::Null => vec![],
        other => vec![other],
    }
}

fn strings(v: &Value) -> Vec<String> {
    list(v)
        .into_iter()
        .map(|x| x.as_str().expect("a string").to_string())
        .collect()
}

/// An IAM statement flattened for assertions.
#[derive(Debug)]
struct Statement {
    sid: String,
    actions: Vec<String>,
    resources: Vec<Value>,
}

/// Every statement of a SAM function's inline `Policies`. A bare string there would be a
/// managed policy (e.g. AmazonS3FullAccess), which is refused outright.
fn statements(t: &Value, function: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    for policy in list(&props(t, function)["Policies"]) {
        assert!(
            policy.is_mapping(),
            "{function}: only inline policy documents are allowed, found {policy:?}"
        );
        for s in list(&policy["Statement"]) {
            assert_eq!(s["Effect"].as_str(), Some("Allow"));
            assert!(s["NotAction"].is_null() && s["NotResource"].is_null());
            let actions = strings(&s["Action"]);
            let resources: Vec<Value> = list(&s["Resource"]).into_iter().cloned().collect();
            for r in &resources {
                assert_ne!(r.as_str(), Some("*"), "{function}: Resource \"*\"");
            }
            for a in &actions {
                assert!(!a.ends_with('*'), "{function}: wildcard action {a}");
            }
            out.push(Statement {
                sid: s["Sid"].as_str().unwrap_or_default().to_string(),
                actions,
                resources,
            });
        }
    }
    out
}

const S3_ARN: &str = "arn:${AWS::Partition}:s3:::";

/// The bucket's name template, `${AWS::StackName}-raw-${AWS::AccountId}-${AWS::Region}`.
fn bucket_name(t: &Value) -> String {
    sub_or_str(&props(t, "RawBucket")["BucketName"])
        .expect("BucketName is a !Sub")
        .to_string()
}

/// What an S3 resource of a policy covers: `Bucket` for the bucket itself, `Keys(pattern)` for
/// objects. Asserts it is the raw bucket of this template.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
enum S3Scope {
    Bucket,
    Keys(String),
}

fn s3_scope(t: &Value, r: &Value) -> S3Scope {
    let s = sub_or_str(r).unwrap_or_else(|| panic!("S3 resource {r:?} is not a !Sub"));
    let rest = s
        .strip_prefix(S3_ARN)
        .unwrap_or_else(|| panic!("{s} is not an S3 ARN"));
    let bucket = bucket_name(t);
    if rest == bucket {
        return S3Scope::Bucket;
    }
    let keys = rest
        .strip_prefix(&format!("{bucket}/"))
        .unwrap_or_else(|| panic!("{s} is not the raw bucket"));
    S3Scope::Keys(keys.to_string())
}

/// `(action, scope)` for every S3 permission of a function.
fn s3_grants(t: &Value, function: &str) -> BTreeSet<(String, S3Scope)> {
    let mut out = BTreeSet::new();
    for st in statements(t, function) {
        for a in st.actions.iter().filter(|a| a.starts_with("s3:")) {
            for r in &st.resources {
                out.insert((a.clone(), s3_scope(t, r)));
            }
        }
    }
    out
}

fn keys(p: &str) -> S3Scope {
    S3Scope::Keys(p.to_string())
}

fn secret_reads(t: &Value, function: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for st in statements(t, function) {
        if st.actions.iter().any(|a| a.starts_with("secretsmanager:")) {
            assert_eq!(
                st.actions,
                vec!["secretsmanager:GetSecretValue"],
                "{}",
                st.sid
            );
            for r in &st.resources {
                let (tag, inner) = intrinsic(r).expect("a secret is referenced by parameter");
                assert_eq!(tag, "Ref");
                out.insert(inner.as_str().unwrap().to_string());
            }
        }
    }
    out
}

fn env_vars(t: &Value, function: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for vars in [
        &t["Globals"]["Function"]["Environment"]["Variables"],
        &props(t, function)["Environment"]["Variables"],
    ] {
        if let Value::Mapping(m) = vars {
            for (k, v) in m {
                out.push((k.as_str().unwrap().to_string(), v.clone()));
            }
        }
    }
    out
}

const FUNCTIONS: [(&str, &str); 3] = [
    ("ExtractFunction", "extract"),
    ("LoadFunction", "load"),
    ("ApiFunction", "api"),
];

#[test]
fn schedule_runs_at_fixed_sao_paulo_times() {
    let t = template();
    let events = &props(&t, "ExtractFunction")["Events"];
    let schedules: Vec<&Value> = match events {
        Value::Mapping(m) => m
            .values()
            .filter(|e| e["Type"].as_str() == Some("ScheduleV2"))
            .collect(),
        _ => vec![],
    };
    assert_eq!(schedules.len(), 1, "one EventBridge Scheduler schedule");
    let p = &schedules[0]["Properties"];
    assert_eq!(
        param_default(&t, &p["ScheduleExpression"]).as_str(),
        Some("cron(0 6,10,14,18,22 * * ? *)")
    );
    assert_eq!(
        param_default(&t, &p["ScheduleExpressionTimezone"]).as_str(),
        Some("America/Sao_Paulo")
    );
    assert_eq!(p["FlexibleTimeWindow"]["Mode"].as_str(), Some("OFF"));
    // The name is stack-scoped so two stacks in one account do not collide.
    assert!(sub_or_str(&p["Name"])
        .unwrap()
        .contains("${AWS::StackName}"));
    // The input is JSON (the extract function accepts any non-continuation payload).
    let input = p["Input"].as_str().expect("a JSON input");
    let input: serde_json::Value = serde_json::from_str(input).unwrap();
    assert!(input.get("cvdw_continuation").is_none());
}

#[test]
fn raw_pages_and_manifests_trigger_load_and_nothing_else_does() {
    let t = template();
    let bucket = resource(&t, "RawBucket");
    let configs = list(&bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]);
    let mut seen = BTreeSet::new();
    for c in configs {
        assert_eq!(c["Event"].as_str(), Some("s3:ObjectCreated:*"));
        assert!(is_get_att(&c["Function"], "LoadFunction.Arn"), "{c:?}");
        let mut prefix = None;
        let mut suffix = None;
        for rule in list(&c["Filter"]["S3Key"]["Rules"]) {
            let value = rule["Value"].as_str().unwrap().to_string();
            match rule["Name"].as_str() {
                Some("prefix") => prefix = Some(value),
                Some("suffix") => suffix = Some(value),
                other => panic!("unexpected filter rule {other:?}"),
            }
        }
        seen.insert((prefix, suffix));
    }
    let expected: BTreeSet<_> = [
        (Some("raw/".to_string()), Some(".json".to_string())),
        (Some("manifests/".to_string()), None),
    ]
    .into_iter()
    .collect();
    assert_eq!(seen, expected);
    // No queue or topic targets, and no trigger on state/.
    let n = &bucket["Properties"]["NotificationConfiguration"];
    assert!(n["QueueConfigurations"].is_null() && n["TopicConfigurations"].is_null());

    // The S3 -> load permission names the same bucket, and exists before the bucket's
    // notification configuration is written.
    let perm = props(&t, "LoadS3InvokePermission");
    assert_eq!(perm["Principal"].as_str(), Some("s3.amazonaws.com"));
    assert!(is_get_att(&perm["FunctionName"], "LoadFunction.Arn"));
    assert_eq!(s3_scope(&t, &perm["SourceArn"]), S3Scope::Bucket);
    assert!(is_ref(&perm["SourceAccount"], "AWS::AccountId"));
    assert_eq!(bucket["DependsOn"].as_str(), Some("LoadS3InvokePermission"));

    // Load can write nothing to S3, so nothing it does can trigger it again.
    assert!(s3_grants(&t, "LoadFunction")
        .iter()
        .all(|(a, _)| a == "s3:GetObject" || a == "s3:ListBucket"));
}

#[test]
fn raw_bucket_is_private_encrypted_versioned_and_kept() {
    let t = template();
    let bucket = resource(&t, "RawBucket");
    // Kept when the stack is deleted or the bucket replaced, but removed when the stack's own
    // first deploy rolls back, so a retry does not meet an orphan of the same name.
    assert_eq!(
        bucket["DeletionPolicy"].as_str(),
        Some("RetainExceptOnCreate")
    );
    assert_eq!(bucket["UpdateReplacePolicy"].as_str(), Some("Retain"));
    let p = &bucket["Properties"];
    assert_eq!(
        p["VersioningConfiguration"]["Status"].as_str(),
        Some("Enabled")
    );
    let pab = &p["PublicAccessBlockConfiguration"];
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(pab[k].as_bool(), Some(true), "{k}");
    }
    let sse = list(&p["BucketEncryption"]["ServerSideEncryptionConfiguration"]);
    assert!(!sse.is_empty());
    // Lifecycle: raw pages move to a parameterised, instantly readable class.
    let rules = list(&p["LifecycleConfiguration"]["Rules"]);
    let raw = rules
        .iter()
        .find(|r| r["Prefix"].as_str() == Some("raw/"))
        .expect("a raw/ lifecycle rule");
    let tr = list(&raw["Transitions"])[0];
    assert!(is_ref(&tr["StorageClass"], "RawTransitionStorageClass"));
    assert!(is_ref(&tr["TransitionInDays"], "RawTransitionDays"));
    let allowed = strings(&t["Parameters"]["RawTransitionStorageClass"]["AllowedValues"]);
    assert!(!allowed
        .iter()
        .any(|c| c == "GLACIER" || c == "DEEP_ARCHIVE"));
    // By default Glacier Instant Retrieval from day 0, for pages of 128 KB or more: replay
    // reads them in milliseconds without a restore (docs/cost.md compares the classes).
    assert_eq!(
        param_default(&t, &tr["StorageClass"]).as_str(),
        Some("GLACIER_IR")
    );
    assert_eq!(param_default(&t, &tr["TransitionInDays"]).as_u64(), Some(0));
    assert_eq!(raw["ObjectSizeGreaterThan"].as_str(), Some("131071"));
    assert!(
        p["IntelligentTieringConfigurations"].is_null(),
        "no archive tiers: they need a restore"
    );
    // TLS only.
    let policy = props(&t, "RawBucketPolicy");
    assert!(is_ref(&policy["Bucket"], "RawBucket"));
    let deny = list(&policy["PolicyDocument"]["Statement"])
        .into_iter()
        .find(|s| s["Effect"].as_str() == Some("Deny"))
        .expect("a deny statement");
    assert_eq!(
        deny["Condition"]["Bool"]["aws:SecureTransport"].as_str(),
        Some("false")
    );
}

#[test]
fn load_failures_go_to_the_dead_letter_queue() {
    let t = template();
    let dlq = resource(&t, "DeadLetterQueue");
    assert_eq!(dlq["Type"].as_str(), Some("AWS::SQS::Queue"));
    let cfg = &props(&t, "LoadFunction")["EventInvokeConfig"];
    let on_failure = &cfg["DestinationConfig"]["OnFailure"];
    assert_eq!(on_failure["Type"].as_str(), Some("SQS"));
    assert!(is_get_att(
        &on_failure["Destination"],
        "DeadLetterQueue.Arn"
    ));
    let retries = param_default(&t, &cfg["MaximumRetryAttempts"])
        .as_u64()
        .unwrap();
    assert!(retries <= 2);
    let age = param_default(&t, &cfg["MaximumEventAgeInSeconds"])
        .as_u64()
        .unwrap();
    assert!((60..=21600).contains(&age));
    // The queue is watched and reported.
    let alarm = props(&t, "DeadLetterQueueAlarm");
    assert!(is_get_att(
        &alarm["Dimensions"][0]["Value"],
        "DeadLetterQueue.QueueName"
    ));
    assert_eq!(alarm["Threshold"].as_u64(), Some(0));
    assert_eq!(
        alarm["ComparisonOperator"].as_str(),
        Some("GreaterThanThreshold")
    );
    assert!(is_ref(
        &t["Outputs"]["DeadLetterQueueUrl"]["Value"],
        "DeadLetterQueue"
    ));
}

#[test]
fn reserved_concurrency_extract_one_load_parameterised() {
    let t = template();
    assert_eq!(
        props(&t, "ExtractFunction")["ReservedConcurrentExecutions"].as_u64(),
        Some(1)
    );
    let load = &props(&t, "LoadFunction")["ReservedConcurrentExecutions"];
    assert!(is_ref(load, "LoadReservedConcurrency"));
    let param = &t["Parameters"]["LoadReservedConcurrency"];
    assert_eq!(param["Type"].as_str(), Some("Number"));
    assert!(param["Default"].as_u64().unwrap() >= 1);
    assert!(
        param["MinValue"].as_u64().unwrap() >= 1,
        "0 would stop loading"
    );
}

#[test]
fn extract_may_write_only_raw_manifests_and_state_and_invoke_itself() {
    let t = template();
    let grants = s3_grants(&t, "ExtractFunction");
    let mut expected = BTreeSet::new();
    for prefix in ["raw/*", "manifests/*", "state/*"] {
        expected.insert(("s3:GetObject".to_string(), keys(prefix)));
        expected.insert(("s3:PutObject".to_string(), keys(prefix)));
    }
    // Deleting is limited to state/ (a finished run removes its continuation record).
    expected.insert(("s3:DeleteObject".to_string(), keys("state/*")));
    expected.insert(("s3:ListBucket".to_string(), S3Scope::Bucket));
    assert_eq!(grants, expected);

    // Continuations: InvokeFunction on its own ARN only, built from its fixed name.
    let name = sub_or_str(&props(&t, "ExtractFunction")["FunctionName"]).unwrap();
    assert_eq!(name, "${AWS::StackName}-extract");
    let invokes: Vec<String> = statements(&t, "ExtractFunction")
        .into_iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("lambda:")))
        .flat_map(|s| {
            assert_eq!(s.actions, vec!["lambda:InvokeFunction"]);
            s.resources
                .iter()
                .map(|r| sub_or_str(r).unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        invokes,
        vec![format!(
            "arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{name}"
        )]
    );
    assert_eq!(
        secret_reads(&t, "ExtractFunction"),
        ["CvdwTenantsSecretArn".to_string()].into()
    );
    // The continuation chain is intentional recursion; everything else keeps Lambda's loop
    // detection (Terminate, the default).
    assert_eq!(
        props(&t, "ExtractFunction")["RecursiveLoop"].as_str(),
        Some("Allow")
    );
    assert!(props(&t, "LoadFunction")["RecursiveLoop"].is_null());
    assert!(props(&t, "ApiFunction")["RecursiveLoop"].is_null());
}

#[test]
fn load_is_read_only_and_api_has_no_s3() {
    let t = template();
    let expected: BTreeSet<_> = [
        ("s3:GetObject".to_string(), keys("raw/*")),
        ("s3:GetObject".to_string(), keys("manifests/*")),
        ("s3:ListBucket".to_string(), S3Scope::Bucket),
    ]
    .into_iter()
    .collect();
    assert_eq!(s3_grants(&t, "LoadFunction"), expected);
    assert_eq!(
        secret_reads(&t, "LoadFunction"),
        ["DatabaseUrlSecretArn".to_string()].into()
    );

    for st in statements(&t, "ApiFunction") {
        assert!(
            st.actions.iter().all(|a| !a.starts_with("s3:")),
            "api has S3 access in {}",
            st.sid
        );
        assert!(st.actions.iter().all(|a| a.starts_with("secretsmanager:")));
    }
    assert_eq!(
        secret_reads(&t, "ApiFunction"),
        // Its own database login (the read-only role), never the loader's.
        [
            "ApiDatabaseUrlSecretArn".to_string(),
            "ApiKeysSecretArn".to_string(),
            "ApiSessionSecret".to_string(),
        ]
        .into()
    );
    assert!(env_vars(&t, "ApiFunction")
        .iter()
        .all(|(k, _)| k != "RAW_BUCKET"));
}

#[test]
fn function_url_auth_type_is_a_parameter_public_only_when_none() {
    let t = template();
    let url = resource(&t, "ApiFunctionUrl");
    assert_eq!(url["Type"].as_str(), Some("AWS::Lambda::Url"));
    assert!(is_get_att(
        &url["Properties"]["TargetFunctionArn"],
        "ApiFunction.Arn"
    ));
    assert!(is_ref(&url["Properties"]["AuthType"], "ApiAuthType"));
    let param = &t["Parameters"]["ApiAuthType"];
    assert_eq!(param["Default"].as_str(), Some("NONE"));
    assert_eq!(strings(&param["AllowedValues"]), vec!["NONE", "AWS_IAM"]);

    // The public permissions exist only under AuthType NONE.
    let cond = &t["Conditions"]["IsPublicUrl"];
    let (tag, args) = intrinsic(cond).unwrap();
    assert_eq!(tag, "Equals");
    assert!(is_ref(&args[0], "ApiAuthType"));
    assert_eq!(args[1].as_str(), Some("NONE"));
    let mut actions = BTreeSet::new();
    if let Value::Mapping(resources) = &t["Resources"] {
        for (name, r) in resources {
            if r["Type"].as_str() == Some("AWS::Lambda::Permission")
                && r["Properties"]["Principal"].as_str() == Some("*")
            {
                assert_eq!(r["Condition"].as_str(), Some("IsPublicUrl"), "{name:?}");
                assert!(is_ref(&r["Properties"]["FunctionName"], "ApiFunction"));
                actions.insert(r["Properties"]["Action"].as_str().unwrap().to_string());
            }
        }
    }
    assert_eq!(
        actions,
        [
            "lambda:InvokeFunction".to_string(),
            "lambda:InvokeFunctionUrl".to_string()
        ]
        .into()
    );

    // CORS only when an allow-list is given.
    let (tag, args) = intrinsic(&url["Properties"]["Cors"]).unwrap();
    assert_eq!(tag, "If");
    assert_eq!(args[0].as_str(), Some("HasCors"));
    assert!(is_ref(&args[1]["AllowOrigins"], "ApiCorsAllowOrigins"));
    assert!(is_get_att(
        &t["Outputs"]["ApiUrl"]["Value"],
        "ApiFunctionUrl.FunctionUrl"
    ));
}

#[test]
fn secrets_are_arns_read_at_init_never_plain_values() {
    let t = template();
    // The plain variables the functions fall back to outside Lambda (shared::secrets).
    const PLAIN: [&str; 8] = [
        "DATABASE_URL",
        "CVDW_TENANTS",
        "CVDW_TOKEN",
        "CVDW_EMAIL",
        "API_KEY_HASHES",
        "SESSION_SECRET",
        "CVDW_API_KEY",
        "PGPASSWORD",
    ];
    for (function, _) in FUNCTIONS {
        let mut arns = BTreeSet::new();
        for (name, value) in env_vars(&t, function) {
            assert!(!PLAIN.contains(&name.as_str()), "{function}: plain {name}");
            if name.ends_with("_SECRET_ARN") {
                let (tag, inner) = intrinsic(&value).expect("a secret ARN parameter");
                assert_eq!(tag, "Ref");
                let param = inner.as_str().unwrap();
                // A secret the stack generates itself (the api's session key) is a resource.
                if t["Resources"][param]["Type"] == "AWS::SecretsManager::Secret" {
                    assert!(
                        !t["Resources"][param]["Properties"]["GenerateSecretString"].is_null(),
                        "{param} is generated, never a literal"
                    );
                    arns.insert(param.to_string());
                    continue;
                }
                let pattern = t["Parameters"][param]["AllowedPattern"].as_str().unwrap();
                assert!(pattern.contains("secretsmanager"), "{param}");
                assert!(
                    t["Parameters"][param]["Default"].is_null(),
                    "{param} has a default"
                );
                arns.insert(param.to_string());
            }
        }
        // A function can read exactly the secrets it is told about.
        assert_eq!(secret_reads(&t, function), arns, "{function}");
    }
    // The extension that serves them is attached to every function.
    assert!(!t["Globals"]["Function"]["Layers"].is_null());
    assert_eq!(
        t["Globals"]["Function"]["Environment"]["Variables"]
            ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]
            .as_str(),
        Some("2773")
    );
}

#[test]
fn functions_are_cargo_lambda_builds_of_the_workspace_binaries() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Handler"].as_str(), Some("bootstrap"));
    let arch = &list(&globals["Architectures"])[0];
    assert_eq!(param_default(&t, arch).as_str(), Some("arm64"));
    assert_eq!(
        strings(&t["Parameters"]["Architecture"]["AllowedValues"]),
        vec!["arm64", "x86_64"]
    );
    // CodeUri is the workspace root (relative to infra/).
    let code_uri = globals["CodeUri"].as_str().unwrap();
    let ws = root().join("infra").join(code_uri);
    let manifest = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("[workspace]"));
    for (function, binary) in FUNCTIONS {
        let r = resource(&t, function);
        assert_eq!(
            r["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda")
        );
        assert_eq!(
            r["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some(binary)
        );
        let pkg = std::fs::read_to_string(ws.join("functions").join(binary).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("functions/{binary}/Cargo.toml: {e}"));
        assert!(
            pkg.contains(&format!("name = \"{binary}\"")),
            "the {binary} package builds the {binary} binary"
        );
        let timeout = r["Properties"]["Timeout"].as_u64().unwrap();
        assert!(timeout <= 900);
        assert!(r["Properties"]["MemorySize"].as_u64().unwrap() >= 128);
    }
    assert_eq!(props(&t, "ExtractFunction")["Timeout"].as_u64(), Some(900));
}

#[test]
fn logs_are_json_with_retention() {
    let t = template();
    for (function, binary) in FUNCTIONS {
        let logging = &props(&t, function)["LoggingConfig"];
        assert_eq!(logging["LogFormat"].as_str(), Some("JSON"), "{function}");
        let (tag, group) = intrinsic(&logging["LogGroup"]).unwrap();
        assert_eq!(tag, "Ref");
        let group = props(&t, group.as_str().unwrap());
        assert!(is_ref(&group["RetentionInDays"], "LogRetentionDays"));
        assert_eq!(
            sub_or_str(&group["LogGroupName"]),
            Some(format!("/aws/lambda/${{AWS::StackName}}-{binary}").as_str())
        );
    }
}

#[test]
fn alarms_cover_errors_dead_letters_freshness_and_throttling() {
    let t = template();
    let mut alarms = Vec::new();
    if let Value::Mapping(resources) = &t["Resources"] {
        for (name, r) in resources {
            if r["Type"].as_str() == Some("AWS::CloudWatch::Alarm") {
                let p = &r["Properties"];
                let actions = list(&p["AlarmActions"]);
                assert!(
                    actions.iter().any(|a| is_ref(a, "AlarmTopic")),
                    "{name:?} notifies the alarm topic"
                );
                alarms.push(p.clone());
            }
        }
    }
    for (function, _) in FUNCTIONS {
        assert!(
            alarms
                .iter()
                .any(|a| a["MetricName"].as_str() == Some("Errors")
                    && is_ref(&a["Dimensions"][0]["Value"], function)),
            "errors alarm for {function}"
        );
    }
    // Freshness: from the load function's EMF `PagesLoaded`, missing data is breaching.
    let filter = props(&t, "PagesLoadedMetricFilter");
    assert!(is_ref(&filter["LogGroupName"], "LoadLogGroup"));
    assert!(filter["FilterPattern"]
        .as_str()
        .unwrap()
        .contains("PagesLoaded"));
    let metric = &filter["MetricTransformations"][0];
    assert_eq!(metric["MetricNamespace"].as_str(), Some("cvdw-etl"));
    let fresh = props(&t, "FreshnessAlarm");
    assert_eq!(fresh["Namespace"].as_str(), Some("cvdw-etl"));
    assert_eq!(fresh["MetricName"], metric["MetricName"]);
    assert_eq!(fresh["TreatMissingData"].as_str(), Some("breaching"));
    assert!(is_ref(&fresh["EvaluationPeriods"], "FreshnessHours"));
    // Throttling: the extract function's EMF `Throttled`, summed over tenants.
    let throttled = props(&t, "ExtractThrottledAlarm");
    let expr = throttled["Metrics"][0]["Expression"].as_str().unwrap();
    assert!(
        expr.contains("SUM(Throttled)") && expr.contains("\"cvdw-etl\""),
        "{expr}"
    );
    // A metric the functions still publish (shared::emf keeps a small fixed set).
    assert!(shared::emf::PUBLISHED.contains(&"Throttled"));
    assert!(
        expr.contains(&format!(", {})", shared::emf::DIMENSION)),
        "{expr}"
    );
    assert!(is_ref(&throttled["Threshold"], "ThrottledAlarmThreshold"));
    assert_eq!(param_default(&t, &throttled["Threshold"]).as_u64(), Some(0));
    // A full run that deleted nothing for want of evidence: the load function's EMF
    // `DeletionsSkipped`, summed over tenants, and published (shared::emf).
    assert!(shared::emf::PUBLISHED.contains(&"DeletionsSkipped"));
    let skipped = props(&t, "DeletionSkippedAlarm");
    let expr = skipped["Metrics"][0]["Expression"].as_str().unwrap();
    assert!(
        expr.contains("SUM(DeletionsSkipped)") && expr.contains("\"cvdw-etl\""),
        "{expr}"
    );
    assert_eq!(skipped["Threshold"].as_u64(), Some(0));
    // A page or manifest that failed for good is recorded, not retried: Lambda's Errors never
    // see it, so the load function's EMF `FailedRecords` backs its own alarm.
    assert!(shared::emf::PUBLISHED.contains(&"FailedRecords"));
    let failed = props(&t, "LoadFailedRecordsAlarm");
    let expr = failed["Metrics"][0]["Expression"].as_str().unwrap();
    assert!(expr.contains("SUM(FailedRecords)"), "{expr}");
    assert_eq!(failed["Threshold"].as_u64(), Some(0));
    // E-mail subscription is a parameter.
    assert!(is_ref(
        &props(&t, "AlarmEmailSubscription")["Endpoint"],
        "AlarmEmail"
    ));
    assert_eq!(
        props(&t, "AlarmEmailSubscription")["Protocol"].as_str(),
        Some("email")
    );
}

#[test]
fn function_url_events_are_what_lambda_http_accepts() {
    use lambda_http::RequestExt;

    let dir = root().join("events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("api-") && name.ends_with(".json")
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "GET /, a bearer request and a CSV request"
    );

    let mut saw_root = false;
    let mut saw_bearer = false;
    let mut saw_csv = false;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
        // Payload format 2.0, exactly as a function URL sends it.
        assert_eq!(raw["version"], "2.0", "{path:?}");
        assert_eq!(raw["routeKey"], "$default");
        assert_eq!(raw["requestContext"]["http"]["path"], raw["rawPath"]);
        assert_eq!(raw["isBase64Encoded"], false);

        let req = lambda_http::request::from_str(&text)
            .unwrap_or_else(|e| panic!("{path:?} is not a LambdaRequest: {e}"));
        assert_eq!(req.method(), "GET");
        let path_str = req.uri().path().to_string();
        let query = req.query_string_parameters();
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if path_str == "/" {
            saw_root = true;
        }
        if path_str.starts_with("/api/") {
            let auth = auth.expect("API requests carry a key");
            assert!(auth.starts_with("Bearer "), "{path:?}");
            saw_bearer = true;
        }
        let accept = req.headers().get("accept").and_then(|v| v.to_str().ok());
        if query.first("format") == Some("csv") || accept == Some("text/csv") {
            saw_csv = true;
        }
        // The raw query string and the parsed parameters agree (percent-decoding included).
        if let Some(q) = raw["queryStringParameters"].as_object() {
            for (k, v) in q {
                assert_eq!(query.first(k), v.as_str(), "{path:?} {k}");
            }
        }
    }
    assert!(saw_root && saw_bearer && saw_csv);
}

/// The freshness alarm is only as good as the metric behind it: the metric filter's field must
/// be one the load function actually prints (shared::emf::load_lines), positive for a loaded
/// page and absent/zero for a mere redelivery.
#[test]
fn freshness_alarm_counts_a_metric_the_load_function_emits() {
    use shared::load::event::{EventReport, KeyOutcome};
    use shared::load::{PageOutcome, PageReport};

    let t = template();
    let filter = props(&t, "PagesLoadedMetricFilter");
    let pattern = filter["FilterPattern"].as_str().expect("FilterPattern");
    let field = pattern
        .split("$.")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a `$.Field` in the filter pattern");
    assert_eq!(
        filter["MetricTransformations"][0]["MetricValue"].as_str(),
        Some(format!("$.{field}").as_str())
    );
    let alarm = props(&t, "FreshnessAlarm");
    assert_eq!(
        alarm["MetricName"],
        filter["MetricTransformations"][0]["MetricName"]
    );
    assert_eq!(alarm["TreatMissingData"].as_str(), Some("breaching"));

    let page = |outcome| EventReport {
        done: vec![(
            "raw/acme/vendas/2026/11/29/20261129T100000Z-a1b2c3/00001.json".into(),
            KeyOutcome::Page(outcome),
        )],
        failures: vec![],
        permanent_failures: 0,
    };
    let emitted = |report: &EventReport| -> i64 {
        shared::emf::load_lines(report, 0)
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| v[field].as_i64().unwrap_or(0))
            .sum()
    };
    let loaded = page(PageOutcome::Loaded(PageReport {
        key: "k".into(),
        rows: 3,
        loaded: 3,
        ..Default::default()
    }));
    assert_eq!(
        emitted(&loaded),
        1,
        "a loaded page must count for freshness"
    );
    let redelivered = page(PageOutcome::Duplicate { key: "k".into() });
    assert_eq!(emitted(&redelivered), 0, "a redelivery is not fresh data");
}

/// Every `!Ref` target inside a value (through `!If`, `!Join`, lists and maps).
fn refs(v: &Value) -> Vec<String> {
    match v {
        Value::Tagged(tagged) => {
            if tagged.tag == "Ref" {
                tagged
                    .value
                    .as_str()
                    .map(str::to_string)
                    .into_iter()
                    .collect()
            } else {
                refs(&tagged.value)
            }
        }
        Value::Sequence(s) => s.iter().flat_map(refs).collect(),
        Value::Mapping(m) => m.iter().flat_map(|(_, v)| refs(v)).collect(),
        _ => vec![],
    }
}

/// The stack name `sam deploy` uses (infra/samconfig.toml).
fn default_stack_name() -> String {
    let text = std::fs::read_to_string(root().join("infra/samconfig.toml")).unwrap();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("stack_name = "))
        .expect("samconfig.toml sets stack_name")
        .trim_matches('"')
        .to_string()
}

/// S3's rules for a bucket name (general purpose buckets).
fn is_valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[test]
fn raw_bucket_name_includes_the_stack_name_and_is_valid_in_every_region() {
    let t = template();
    let name = bucket_name(&t);
    // Two stacks (production and staging) in one account and region get two buckets.
    assert_eq!(
        name,
        "${AWS::StackName}-raw-${AWS::AccountId}-${AWS::Region}"
    );
    // Every place that names the bucket (environment, policies, the S3 permission) uses the
    // same computed name; s3_scope asserts it for the policies.
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    assert!(!text.contains("BucketNamePrefix"));
    for function in ["ExtractFunction", "LoadFunction"] {
        let (_, raw_bucket) = env_vars(&t, function)
            .into_iter()
            .find(|(k, _)| k == "RAW_BUCKET")
            .unwrap_or_else(|| panic!("{function} has RAW_BUCKET"));
        assert_eq!(sub_or_str(&raw_bucket), Some(name.as_str()), "{function}");
    }
    assert_eq!(
        sub_or_str(&props(&t, "LoadS3InvokePermission")["SourceArn"]),
        Some(format!("arn:${{AWS::Partition}}:s3:::{name}").as_str())
    );

    // The longest region the template knows, and the longest stack name docs/deploy.md allows
    // (31 lowercase characters), still give a valid bucket name; so does the default stack.
    let regions: Vec<String> = match &t["Mappings"]["SecretsExtensionLayer"] {
        Value::Mapping(m) => m.keys().map(|k| k.as_str().unwrap().to_string()).collect(),
        _ => panic!("the layer mapping lists the regions"),
    };
    let longest_region = regions.iter().max_by_key(|r| r.len()).unwrap();
    let render = |stack: &str, region: &str| {
        name.replace("${AWS::StackName}", stack)
            .replace("${AWS::AccountId}", "123456789012")
            .replace("${AWS::Region}", region)
    };
    for stack in [default_stack_name(), "a".repeat(31)] {
        let rendered = render(&stack, longest_region);
        assert!(is_valid_bucket_name(&rendered), "{rendered}");
    }
    assert!(!is_valid_bucket_name(&render(
        &"a".repeat(32),
        longest_region
    )));
    let deploy = std::fs::read_to_string(root().join("docs/deploy.md")).unwrap();
    assert!(
        deploy.contains("at most 31 characters**"),
        "docs/deploy.md states the stack-name limit"
    );
    assert_eq!(
        render(&default_stack_name(), "sa-east-1"),
        "cvdw-etl-raw-123456789012-sa-east-1"
    );
}

/// README's configuration table: (variables of a row, stack parameters named in that row).
fn readme_config_rows() -> Vec<(Vec<String>, Vec<String>)> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut lines = readme
        .lines()
        .skip_while(|l| !l.starts_with("| variable |"));
    let header: Vec<&str> = lines
        .next()
        .expect("the configuration table")
        .split('|')
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .unwrap_or_else(|| panic!("README's table has a `{name}` column"))
    };
    let (var_col, param_col) = (col("variable"), col("stack parameter"));
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').collect();
            (ticked(cells[var_col]), ticked(cells[param_col]))
        })
        .collect()
}

#[test]
fn every_knob_the_readme_names_is_a_stack_parameter_and_the_table_says_which() {
    let t = template();
    let rows = readme_config_rows();
    assert!(rows.len() >= 10);
    // Every (variable, parameter) wiring of the template.
    let mut wired: BTreeSet<(String, String)> = BTreeSet::new();
    for (function, _) in FUNCTIONS {
        for (var, value) in env_vars(&t, function) {
            for target in refs(&value) {
                if !t["Parameters"][target.as_str()].is_null() {
                    wired.insert((var.clone(), target));
                }
            }
        }
    }
    // The table names exactly those parameters, each on the row of the variable it sets.
    let mut named: BTreeSet<(String, String)> = BTreeSet::new();
    for (vars, params) in &rows {
        for param in params.iter().filter(|p| !p.contains('<')) {
            assert!(
                !t["Parameters"][param.as_str()].is_null(),
                "README names parameter {param}, which the template does not have"
            );
            let var = vars
                .iter()
                .find(|v| wired.contains(&((*v).clone(), param.clone())))
                .unwrap_or_else(|| panic!("{param} sets none of {vars:?} in the template"));
            named.insert((var.clone(), param.clone()));
        }
    }
    assert_eq!(
        named, wired,
        "README's `stack parameter` column and the template differ"
    );

    // The knobs issue #23 lists by name are among them.
    for knob in [
        "CVDW_RATE_LIMIT",
        "CVDW_OVERLAP_MINUTES",
        "EXTRACT_FULL_EVERY",
        "CVDW_PAGE_SIZE",
    ] {
        assert!(
            wired.iter().any(|(v, _)| v == knob),
            "{knob} is a parameter"
        );
    }
    // Alarm thresholds.
    for alarm in ["ExtractErrorsAlarm", "LoadErrorsAlarm", "ApiErrorsAlarm"] {
        assert!(
            is_ref(&props(&t, alarm)["Threshold"], "ErrorAlarmThreshold"),
            "{alarm}"
        );
    }
    assert!(is_ref(
        &props(&t, "FreshnessAlarm")["EvaluationPeriods"],
        "FreshnessHours"
    ));
}

/// The extract tunables' defaults in the template are the code's: deploying with them
/// configures exactly what no variable at all would.
#[test]
fn extract_parameter_defaults_are_the_code_defaults() {
    use shared::extract::ExtractConfig;

    let t = template();
    let base: Vec<(&str, String)> = vec![
        ("RAW_BUCKET", "b".into()),
        ("CVDW_TENANT", "acme".into()),
        ("CVDW_SUBDOMAIN", "acme".into()),
        ("CVDW_EMAIL", "a@b.c".into()),
        ("CVDW_TOKEN", "t".into()),
    ];
    let mut deployed = base.clone();
    for (var, value) in env_vars(&t, "ExtractFunction") {
        if let Some((tag, inner)) = intrinsic(&value) {
            let Some(param) = inner.as_str().filter(|_| tag == "Ref") else {
                continue;
            };
            let tunable = (var.starts_with("CVDW_") || var.starts_with("EXTRACT_"))
                && !var.ends_with("_SECRET_ARN");
            if !tunable {
                continue;
            }
            let default = &t["Parameters"][param]["Default"];
            let text = match default {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => panic!("{param}: default {other:?}"),
            };
            let leaked: &'static str = Box::leak(var.into_boxed_str());
            deployed.push((leaked, text));
        }
    }
    assert!(deployed.len() >= base.len() + 10, "{deployed:?}");
    let read = |vars: &[(&str, String)]| {
        ExtractConfig::from_lookup(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|e| panic!("the template's defaults are rejected: {e}"))
    };
    let (code, template) = (read(&base), read(&deployed));
    assert_eq!(template.pacer, code.pacer);
    assert_eq!(template.retry, code.retry);
    assert_eq!(template.page_size, code.page_size);
    assert_eq!(template.timeout, code.timeout);
    assert_eq!(template.run, code.run);
}

/// Only the load function migrates, and not at init (functions/load/src/main.rs): the api and
/// extract functions never run migrations, so a dashboard request never waits on DDL.
#[test]
fn only_the_load_function_migrates() {
    let source = |path: &str| std::fs::read_to_string(root().join(path)).unwrap();
    let load = source("functions/load/src/main.rs");
    assert!(load.contains("db::migrate("));
    let init = load
        .split("async fn main()")
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .expect("the load function's main");
    assert!(!init.contains("migrate"), "load migrates at init");
    for path in ["functions/api/src/main.rs", "functions/extract/src/main.rs"] {
        assert!(!source(path).contains("migrate("), "{path} migrates");
    }
    let mut api_files = vec![root().join("shared/src/api")];
    while let Some(p) = api_files.pop() {
        if p.is_dir() {
            api_files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(!text.contains("migrate("), "{p:?} migrates");
        }
    }
}
