/**
 * Which channel listing a ledger SKU maps to, as the ledger keeps it
 * (`PUT /v1/channels/:channel/listings/:sku`, read back with `GET /v1/channels/:channel/listings`).
 */
export interface Listing {
  /** The ledger SKU. */
  sku: string;
  /** Shopify: the inventory item id; Amazon: the seller SKU; Flipkart: the FSN (product_id). */
  externalId: string;
  /** How the channel's order lines name the item (Shopify line sku, Amazon SellerSKU, Flipkart sku). Default: the ledger SKU. */
  channelSku: string;
  /** Shopify location id, Flipkart location id. */
  locationId?: string;
  /** Amazon marketplace id. */
  marketplaceId?: string;
  /** Amazon product type (required by the Listings Items PATCH and the listings feed). */
  productType?: string;
}

/** The listings a connector pushes to and maps orders back through. */
export class ListingCatalog {
  private bySku = new Map<string, Listing>();
  private byChannelSku = new Map<string, Listing>();

  /**
   * @param everySkuListed no listings source: every SKU counts as listed under its own name (the
   * logging adapter and the Kafka reference setup use it).
   */
  constructor(listings: Listing[] = [], private readonly everySkuListed = false) {
    this.replace(listings);
  }

  /** Swaps in a fresh set (the periodic reload); returns the SKUs that were added. */
  replace(listings: Listing[]): string[] {
    const added = listings.filter((listing) => !this.bySku.has(listing.sku)).map((listing) => listing.sku);
    this.bySku = new Map(listings.map((listing) => [listing.sku, listing]));
    this.byChannelSku = new Map(listings.map((listing) => [listing.channelSku, listing]));
    return added;
  }

  get(sku: string): Listing | undefined {
    return this.bySku.get(sku) ?? (this.everySkuListed ? { sku, externalId: sku, channelSku: sku } : undefined);
  }

  /** The listing an order line names (by the channel's own SKU). */
  forChannelSku(channelSku: string): Listing | undefined {
    return this.byChannelSku.get(channelSku) ?? (this.everySkuListed ? this.get(channelSku) : undefined);
  }

  all(): Listing[] {
    return [...this.bySku.values()];
  }

  get size(): number {
    return this.bySku.size;
  }
}

/** Normalises one item of the ledger's listings page. */
export function listingFrom(item: Record<string, unknown>): Listing | null {
  const sku = item.sku;
  const externalId = item.externalId;
  if (typeof sku !== 'string' || typeof externalId !== 'string' || !sku || !externalId) return null;
  const optional = (name: string) => (typeof item[name] === 'string' && item[name] ? (item[name] as string) : undefined);
  return {
    sku,
    externalId,
    channelSku: optional('channelSku') ?? sku,
    locationId: optional('locationId'),
    marketplaceId: optional('marketplaceId'),
    productType: optional('productType'),
  };
}
