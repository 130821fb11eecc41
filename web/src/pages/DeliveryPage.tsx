// One delivery on a page of its own (/deliveries/{id}), where the Deliveries page's results link:
// what was sent, each attempt's answer, and a resend, as the webhook's delivery log shows it
// opened (DeliveryDetails), with the way back to its webhook.
import { useState } from 'react';
import { ApiError, api } from '../api';
import { DeliveryDetails } from '../components/DeliveryDetails';
import { LoadError, Loading } from '../components/Feedback';
import { PageHeader } from '../components/Layout';
import { useLoad } from '../hooks';
import { Link } from '../router';
import { canWrite, useSession } from '../session';
import type { DeliveryDetail, Webhook } from '../types';

export function DeliveryPage({ id }: { id: string }) {
  const { me } = useSession();
  const [tick, setTick] = useState(0);
  const found = useLoad(async () => {
    const delivery = await api.get<DeliveryDetail>(`/v2/deliveries/${id}/`);
    return { delivery, webhook: await api.get<Webhook>(`/v2/webhooks/${delivery.webhook_id}/`) };
  }, [id]);

  if (!found.data) {
    if (found.error instanceof ApiError && found.error.status === 404) {
      return (
        <div className="empty">
          <h1>Delivery not found</h1>
          <p className="muted">There is no delivery {id} to your webhooks. It may be past retention, or its webhook deleted.</p>
          <Link to="/deliveries" className="button">Back to deliveries</Link>
        </div>
      );
    }
    return found.error !== undefined ? <LoadError error={found.error} retry={found.reload} /> : <Loading what="the delivery" />;
  }
  const { delivery, webhook } = found.data;
  return (
    <>
      <PageHeader title={<>Delivery <span className="mono">{delivery.id}</span></>} subtitle={<>To <Link to={`/webhooks/${webhook.id}`}>{webhook.metadata.name}</Link></>}>
        <nav aria-label="Breadcrumb" className="breadcrumb">
          <Link to="/deliveries">Deliveries</Link>
          <span aria-hidden="true">/</span>
          <span aria-current="page" className="mono">{delivery.id}</span>
        </nav>
      </PageHeader>
      <section className="card">
        <DeliveryDetails id={delivery.id} url={webhook.metadata.webhook_url} canAct={canWrite(me)} tick={tick} onResent={() => setTick((t) => t + 1)} />
      </section>
    </>
  );
}
