import type { EdgeswarmApi } from '../../../src/api'

declare global {
  var edgeswarm: EdgeswarmApi | undefined
}
