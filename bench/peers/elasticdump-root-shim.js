// bench/peers/elasticdump-root-shim.js — preloaded into elasticdump (`node -r`) by
// bench/peers/elasticdump-devnull.  Why: elasticdump detects the server version with
// `GET /` before anything else, and the Elasticsearch that distribution/bin/rmq-services runs
// is the integ-test-zip without the rest-root module, whose `GET /` answers 405.  When (and
// only when) that request answers 405, this feeds elasticdump's own version parser the body a
// stock Elasticsearch would have sent ({"version":{"number": $RMQ_BENCH_ES_VERSION,
// "build_flavor":"default"}}), so the rest of elasticdump runs unchanged against the real
// server.  Against an Elasticsearch that answers `GET /` it does nothing.
'use strict'
const path = require('path')

const version = process.env.RMQ_BENCH_ES_VERSION
const baseModule = path.join(process.env.RMQ_BENCH_ELASTICDUMP_DIR, 'lib/transports/__es__/_base.js')
const Base = require(baseModule)
const parseVersion = Base.prototype._parseVersion

Base.prototype._parseVersion = function (response) {
  if (response && response.statusCode === 405 && version) {
    const body = JSON.stringify({ version: { number: version, build_flavor: 'default' } })
    response = Object.assign(Object.create(Object.getPrototypeOf(response)), response, { statusCode: 200, body })
  }
  return parseVersion.call(this, response)
}
