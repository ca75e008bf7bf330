import { greeting } from '../shared/text'

export const view = `<p>${greeting}</p>`
