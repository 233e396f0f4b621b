//! The order pages: the list with filters (`/dashboard/orders`) and one order
//! (`/dashboard/orders/{id}`) with its status moves, cancellation, edit and SMS.

use poem::Route;

/// Adds the order pages to `route`.
pub(super) fn routes(route: Route) -> Route {
    route
}
