// The compose variable a service's image is read from: shared by the specs (which check a compose
// file reads it) and the host scripts (which set it), so it lives with the other names.

/** `booking-api` → `BOOKING_API_IMAGE`, the variable compose.yaml reads the image from. */
export function imageVariable(service: string): string {
  return `${service.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_IMAGE`;
}
