"""daprd's Configuration types (``pkg/config/configuration.go``) as the YAML decoder sees them.

daprd reads a standalone Configuration file with ``gopkg.in/yaml.v3`` straight into these Go
structs, so a value of the wrong shape fails with yaml.v3's ``cannot unmarshal !!str `x` into
[]config.SecretsScope``; :mod:`localdapr.config.yamlgo` replays that check from this table.
A type is a tuple: ``("str",)``, ``("bool",)``, ``("int", go_name)``, ``("float", go_name)``,
``("duration",)``, ``("any",)``, ``("slice", elem)``, ``("map", value, go_name)``,
``("struct", go_name, {yaml_key: type})``. Keys a struct does not list are ignored, as
yaml.v3 does (no KnownFields). Field keys are the yaml tags; fields with only a json tag get
yaml.v3's default key, the lower-cased field name (so ``apiVersion`` is not read: harmless).
"""

from __future__ import annotations

from typing import Any

STR = ("str", "string")
BOOL = ("bool",)
ANY = ("any",)
INT = ("int", "int")
INT32 = ("int", "int32")
DURATION = ("duration",)


def struct(go_name: str, /, **fields: Any) -> tuple:
    return ("struct", f"config.{go_name}", fields)


def slice_of(elem: tuple) -> tuple:
    return ("slice", elem)


STR_SLICE = slice_of(STR)

PIPELINE = struct("PipelineSpec", handlers=slice_of(struct(
    "HandlerSpec", name=STR, type=STR, version=STR,
    selector=struct("SelectorSpec", fields=slice_of(struct("SelectorField", field=STR, value=STR))))))

METRIC = struct(
    "MetricSpec", enabled=BOOL, recordErrorCodes=BOOL,
    http=struct("MetricHTTP", increasedCardinality=BOOL, pathMatching=STR_SLICE, excludeVerbs=BOOL),
    latencyDistributionBuckets=slice_of(INT),
    rules=slice_of(struct("MetricsRule", name=STR, labels=slice_of(struct(
        "MetricLabel", name=STR, regex=("map", STR, "map[string]string"))))),
)

API_RULES = slice_of(struct("APIAccessRule", name=STR, version=STR, protocol=("str", "config.APIAccessRuleProtocol")))
NAMED_LIMIT = struct("NamedConcurrencyLimit", name=STR, maxConcurrent=INT32)

SPEC = struct(
    "ConfigurationSpec",
    httpPipeline=PIPELINE,
    appHttpPipeline=PIPELINE,
    tracing=struct(
        "TracingSpec", samplingRate=STR, stdout=BOOL,
        zipkin=struct("ZipkinSpec", endpointAddress=STR),
        otel=struct("OtelSpec", protocol=STR, endpointAddress=STR, isSecure=BOOL, headers=STR_SLICE, timeout=DURATION),
    ),
    mtls=struct(
        "MTLSSpec", enabled=BOOL, workloadCertTTL=STR, allowedClockSkew=STR, sentryAddress=STR,
        controlPlaneTrustDomain=STR, tokenValidators=slice_of(struct("ValidatorSpec", name=STR, options=ANY)),
    ),
    metric=METRIC,
    metrics=METRIC,
    secrets=struct("SecretsSpec", scopes=slice_of(struct(
        "SecretsScope", defaultAccess=STR, storeName=STR, allowedSecrets=STR_SLICE, deniedSecrets=STR_SLICE))),
    accessControl=struct(
        "AccessControlSpec", defaultAction=STR, trustDomain=STR,
        policies=slice_of(struct(
            "AppPolicySpec", appId=STR, defaultAction=STR, trustDomain=STR, namespace=STR,
            operations=slice_of(struct("AppOperation", name=STR, httpVerb=STR_SLICE, action=STR)))),
    ),
    nameResolution=struct("NameResolutionSpec", component=STR, version=STR, configuration=ANY),
    features=slice_of(struct("FeatureSpec", name=("str", "config.Feature"), enabled=BOOL)),
    api=struct("APISpec", allowed=API_RULES, denied=API_RULES),
    components=struct("ComponentsSpec", deny=STR_SLICE),
    logging=struct("LoggingSpec", apiLogging=struct(
        "APILoggingSpec", enabled=BOOL, obfuscateURLs=BOOL, omitHealthChecks=BOOL)),
    wasm=struct("WasmSpec", strictSandbox=BOOL),
    workflow=struct(
        "WorkflowSpec", maxConcurrentWorkflowInvocations=INT32, maxConcurrentActivityInvocations=INT32,
        globalMaxConcurrentWorkflowInvocations=INT32, globalMaxConcurrentActivityInvocations=INT32,
        workflowConcurrencyLimits=slice_of(NAMED_LIMIT), activityConcurrencyLimits=slice_of(NAMED_LIMIT),
        stateRetentionPolicy=struct("WorkflowStateRetentionPolicy", anyTerminal=DURATION, completed=DURATION,
                                    failed=DURATION, terminated=DURATION),
    ),
)

CONFIGURATION = struct(
    "Configuration",
    kind=STR, apiversion=STR,
    metadata=("struct", "v1.ObjectMeta", {"name": STR, "namespace": STR, "labels": ("map", STR, "map[string]string"),
                                           "annotations": ("map", STR, "map[string]string")}),
    spec=SPEC,
)
