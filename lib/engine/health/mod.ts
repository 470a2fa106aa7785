/**
 * Health: the pure view that builds health.json from a snapshot, and its debounced write.
 *
 * @module
 */
export { HealthReporter } from "./health_report.ts";
export { type HealthSnapshot } from "./health_view.ts";
