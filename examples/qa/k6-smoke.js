// k6 load test through Tessera's local proxy: k6 never holds a token, and however many virtual
// users hit an expired one, Tessera refreshes it once.
//
//   tessera-cli --profile staging exec -- k6 run examples/qa/k6-smoke.js
import http from "k6/http";
import { check } from "k6";

export const options = { vus: 20, duration: "30s" };

const BASE = __ENV.TESSERA_PROXY;

export default function () {
  const response = http.get(`${BASE}/api/hello/`);
  check(response, { "status is 200": (r) => r.status === 200 });
}
