// Placeholder: implemented by the pipeline helper.
export interface IpFilter {
  /** True when the address passes: not denied, and allowed (an empty allow list allows all). */
  allows(ip: string): boolean
}
