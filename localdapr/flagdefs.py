"""daprd 1.18's flag list, verbatim from ``daprd --help`` (pflag's usage text).

Why verbatim: the local sidecar prints it for an unknown flag or ``--help`` as daprd does, and
:mod:`localdapr.options` reads every flag's name, type and default from it, so the two cannot
drift apart. Refresh it from a new daprd with ``daprd --help 2>&1 | sed -n 2,52p``.
"""

USAGE = """\
      --actors-disseminate-timeout duration        Timeout for the daprd-side actor placement dissemination round; if exceeded, daprd resets its placement stream and halts hosted actors. Should be greater than the placement service --disseminate-timeout (default 8s). (default 30s)
      --allowed-origins string                     Allowed HTTP origins
      --app-channel-address string                 The network address the application listens on (default "127.0.0.1")
      --app-health-check-path string               Path used for health checks; HTTP only (default "/healthz")
      --app-health-probe-interval int              Interval to probe for the health of the app in seconds (default 5)
      --app-health-probe-timeout int               Timeout for app health probes in milliseconds (default 500)
      --app-health-threshold int                   Number of consecutive failures for the app to be considered unhealthy (default 3)
      --app-id string                              A unique ID for Dapr. Used for Service Discovery and state
      --app-max-concurrency int                    Controls the concurrency level when forwarding requests to user code; set to -1 for no limits (default -1)
      --app-port string                            The port the application is listening on
      --app-protocol string                        Protocol for the application: grpc, grpcs, http, https, h2c (default "http")
      --build-info                                 Prints the build info
      --config strings                             Path to config file, or name of a configuration object. In standalone mode, can be passed multiple times
      --control-plane-address string               Address for a Dapr control plane
      --control-plane-namespace string             Namespace of the Dapr control plane (default "default")
      --control-plane-trust-domain string          Trust domain of the Dapr control plane (default "localhost")
      --dapr-block-shutdown-duration duration      If enabled, will block graceful shutdown after terminate signal is received until either the given duration has elapsed or the app reports unhealthy. Disabled by default
      --dapr-graceful-shutdown-seconds int         Graceful shutdown time in seconds (default 5)
      --dapr-grpc-port string                      gRPC port for the Dapr API to listen on (default "50001")
      --dapr-http-port string                      HTTP port for Dapr API to listen on (default "3500")
      --dapr-internal-grpc-listen-address string   gRPC listen address for the Dapr Internal API
      --dapr-internal-grpc-port string             gRPC port for the Dapr Internal API to listen on
      --dapr-listen-addresses string               One or more addresses for the Dapr API to listen on, CSV limited
      --dapr-public-listen-address string          Public listen address for Dapr Health and Metadata
      --dapr-public-port string                    Public port for Dapr Health and Metadata to listen on
      --disable-builtin-k8s-secret-store           Disable the built-in Kubernetes Secret Store
      --disable-init-endpoints strings             List of initialization endpoints to disable. Supported values: config, subscribe,. If not specified, all endpoints will be enabled
      --enable-api-logging                         Enable API logging for API calls
      --enable-app-health-check                    Enable health checks for the application using the protocol defined with app-protocol
      --enable-metrics                             Enable prometheus metric (default true)
      --enable-mtls                                Enables automatic mTLS for daprd-to-daprd communication channels
      --enable-profiling                           Enable profiling
      --hot-reload-reconcile-interval duration     Period of the hot-reload backup reconcile that lists resources and reconciles any the event watch missed, e.g. '30s'. Zero uses the default (60s)
      --log-as-json                                print log as JSON (default false)
      --log-file string                            Path to a file where logs will be written
      --log-level string                           Options are debug, info, warn, error, or fatal (default info) (default "info")
      --max-body-size string                       Max size of request body for the Dapr HTTP and gRPC servers, as a resource quantity (default "4Mi")
      --metrics-listen-address string              The address for the metrics server (default "0.0.0.0")
      --metrics-port string                        The port for the metrics server (default "9090")
      --mode string                                Runtime mode for Dapr (default "standalone")
      --placement-host-address string              Addresses for Dapr Actor Placement servers (overrides actors-service)
      --profile-port string                        The port for the profile server (default "7777")
      --read-buffer-size string                    Max size of read buffer, as a resource quantity (also used to handle request headers) (default "4Ki")
      --resources-path strings                     Path for resources directory. If not specified, no resources will be loaded. Can be passed multiple times
      --scheduler-host-address strings             Addresses of the Scheduler service instance(s), as comma separated host:port pairs
      --scheduler-job-streams uint                 The number of active job streams to connect to the Scheduler service (default 3)
      --sentry-address string                      Address for the Sentry CA service
      --sentry-request-jwt-audiences strings       JWT audience list for certificate signing requests. If not specified, the trust domain will be used
      --unix-domain-socket string                  Path to a unix domain socket dir mount. If specified, Dapr API servers will use Unix Domain Sockets
      --version                                    Prints the runtime version
      --wait                                       wait for Dapr outbound ready
"""

# Deprecated (and hidden) flags daprd still accepts: name -> (type, default, deprecation notice).
DEPRECATED = {
    "components-path": ("string", "", "use --resources-path"),
    "app-ssl": ("bool", "false", "use '--app-protocol https|grpcs'"),
    "dapr-http-max-request-size": ("int", "4", "use '--max-body-size 4Mi'"),
    "dapr-http-read-buffer-size": ("int", "4", "use '--read-buffer-size 4Ki'"),
    "reminders-service": ("string", "", "flag no longer has any effect"),
    "actors-service": ("string", "", "flag no longer has any effect"),
}
