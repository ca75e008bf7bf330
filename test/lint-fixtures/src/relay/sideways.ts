// The relay may use the inference types, and nothing else of that layer.
import { engine } from '../inference/engine'
import type { Request } from '../inference/types'

export const sideways: Request = { text: engine }
