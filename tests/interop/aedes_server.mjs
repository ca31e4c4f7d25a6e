// aedes for tests/interop: node aedes_server.mjs CONFIG.json, where the
// config is {"host": ..., "port": ..., "broker": {aedes options}}. aedes is
// an ES module installed by tests/interop/run (npm ci): NODE_PATH does not
// reach ES imports, so it is loaded through createRequire.
import { createServer } from 'node:net'
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const { Aedes } = await import(createRequire(process.env.NODE_PATH + '/').resolve('aedes'))
const broker = await Aedes.createBroker(config.broker)
createServer(broker.handle).listen(config.port, config.host, () => console.log('aedes listening on', config.port))
