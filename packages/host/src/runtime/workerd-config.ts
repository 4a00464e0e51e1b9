import { WORKERD_COMPATIBILITY_DATE } from './limits.js';

export interface WorkerdSockets {
  /** Inbound requests from the front door. */
  readonly app: string;
  /** The platform API, bound as `env.PLINTH`; which socket a call arrives on is the app's identity. */
  readonly platform: string;
  /** `globalOutbound`: every `fetch` the app makes lands in the host's egress proxy. */
  readonly egress: string;
}

function capnpString(value: string): string {
  return JSON.stringify(value);
}

/**
 * A capnp config granting the worker exactly three capabilities (workerd.capnp:
 * a worker starts with nothing else). The bundle is embedded by a path relative
 * to the config file, which therefore sits beside `worker.js`.
 */
export function workerdConfig(sockets: WorkerdSockets): string {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "app", worker = .app),
    (name = "platform", external = (address = ${capnpString(`unix:${sockets.platform}`)}, http = ())),
    (name = "egress", external = (address = ${capnpString(`unix:${sockets.egress}`)}, http = (style = proxy))),
  ],
  sockets = [ (name = "http", address = ${capnpString(`unix:${sockets.app}`)}, http = (), service = "app") ],
);

const app :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = ${capnpString(WORKERD_COMPATIBILITY_DATE)},
  compatibilityFlags = ["nodejs_compat"],
  bindings = [ (name = "PLINTH", service = "platform") ],
  globalOutbound = "egress",
);
`;
}
