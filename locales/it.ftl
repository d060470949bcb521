# Pagine di cofund, italiano. Stesse chiavi di en.ftl (un test lo verifica).
skip-to-content = Vai al contenuto
nav-label = Principale
nav-campaigns = Campagne
nav-areas = Aree bersaglio
nav-transparency = Trasparenza
nav-console = Console
nav-logout = Esci
nav-login = Accedi
footer = cofund — crowdfunding civico con cofinanziamento pubblico. Contano solo le donazioni confermate.
back-home = Torna alle campagne
error-generic = Qualcosa è andato storto
error-400 = Richiesta non comprensibile
error-401 = Accedi per continuare
error-403 = Operazione non consentita
error-404 = Pagina non trovata
error-405 = Operazione non consentita qui
error-409 = Operazione non possibile ora
error-413 = Dati troppo grandi
error-415 = Modulo non supportato
error-422 = Controlla i dati inseriti
error-429 = Troppi tentativi
error-500 = Si è verificato un errore nostro
error-502 = Il servizio di pagamento non ha risposto
error-503 = Il servizio è occupato

home-title = Campagne attive
home-intro = Le associazioni raccolgono fondi per progetti nelle aree bersaglio della città; quando una campagna raggiunge la soglia, il Comune aggiunge il suo cofinanziamento.
filter-area = Area bersaglio
filter-all-areas = Tutte le aree
filter-apply = Mostra
home-none = Nessuna campagna attiva qui al momento.
card-figures = Raccolti { $raised } su { $goal } da { $count ->
    [one] un donatore
   *[other] { $shown } donatori
}
bar-label = Raccolti { $raised }, cofinanziamento { $match }, obiettivo { $goal }

status-draft = Bozza
status-submitted = Inviata per la valutazione
status-approved = Approvata
status-live = Attiva
status-closing = In chiusura
status-succeeded = Riuscita
status-failed = Soglia non raggiunta
status-rejected = Respinta
status-cancelled = Annullata
match-none = Nessun cofinanziamento per ora
match-waitlisted = In attesa di budget
match-reserved = Cofinanziamento riservato
match-committed = Cofinanziamento impegnato
match-settled = Cofinanziamento pagato
match-revoked = Cofinanziamento rilasciato

donate-thanks = Grazie: la tua donazione è confermata e conteggiata qui sotto.
campaign-progress = Avanzamento
campaign-decision = Il cofinanziamento, spiegato
campaign-donate = Dona
campaign-badge = Badge per il vostro sito
campaign-badge-copy = Copiate questo codice nella vostra pagina web:
campaign-crowd = Donazioni: { $raised } da { $count ->
    [one] un donatore
   *[other] { $shown } donatori
} (soglia { $threshold }).
campaign-match = Cofinanziamento: { $status }, { $amount }.
explain-none = Quando le donazioni confermate raggiungono { $threshold }, il fondo riserva il suo cofinanziamento a questa campagna.
explain-waitlisted = Le donazioni hanno raggiunto la soglia, ma il budget del fondo è esaurito: la campagna è in lista d'attesa e riceve il cofinanziamento appena si libera o si aggiunge budget.
explain-reserved = Le donazioni hanno raggiunto la soglia di { $threshold }: { $amount } sono riservati dal fondo e vanno alla campagna se riesce.
explain-committed = La campagna è riuscita: { $amount } sono impegnati e il Comune li pagherà all'associazione.
explain-settled = Il Comune ha pagato all'associazione il cofinanziamento di { $amount }.
explain-revoked = La campagna non è riuscita: il cofinanziamento è tornato al fondo e le donazioni sono rimborsate.

areas-title = Aree bersaglio
areas-intro = I quartieri in cui il programma finanzia progetti, con le campagne attive segnate.
areas-list = Tutte le aree
areas-code = Codice
areas-name = Nome
areas-live = Campagne attive
areas-none = Nessuna area bersaglio è ancora stata disegnata.
areas-map-title = Mappa delle aree bersaglio e delle campagne attive

transparency-title = Amministrazione trasparente
transparency-intro = Contributi di denaro pubblico alle associazioni, pubblicati come chiede il D.Lgs. 33/2013 (art. 26–27) prima di essere pagati.
transparency-year = Anno
transparency-json = Il registro come dato aperto (JSON; CSV con Accept: text/csv)
transparency-none = Nessun contributo pubblicato per quest'anno.
transparency-caption = Contributi pubblicati nel { $year }
transparency-date = Data
transparency-beneficiary = Beneficiario
transparency-amount = Importo
transparency-basis = Norma o titolo
transparency-office = Ufficio e responsabile
transparency-method = Modalità di individuazione
transparency-project = Progetto

login-title = Accedi
login-username = Nome utente
login-password = Password
login-submit = Accedi
login-failed = Nome utente o password errati.

donate-title = Dona
donate-simulated = Pagamento di prova con il fornitore simulato: non si muove denaro vero.
donate-amount = Importo
donate-name = Il tuo nome
donate-email = La tua e-mail (per la ricevuta)
donate-tax-code = Codice fiscale (facoltativo)
donate-tax-hint = Serve solo se vuoi la detrazione nella dichiarazione precompilata.
donate-anonymous = Nascondi il mio nome all'associazione e al pubblico
donate-submit = Dona e paga
donate-not-live = Questa campagna ora non riceve donazioni.

console-title = Console
console-signed-in = Accesso come { $role }.
console-own-campaigns = Le vostre campagne
console-no-campaigns = Nessuna campagna per ora.
console-campaign = Campagna
console-status = Stato
console-raised = Raccolti
console-match = Cofinanziamento
console-actions = Azioni
console-rejected-because = Respinta:
console-submit = Invia per la valutazione
console-new-campaign = Nuova campagna
console-fund = Fondo
console-field-title = Titolo
console-field-summary = Descrizione
console-field-goal = Obiettivo (EUR)
console-field-location = Luogo
console-location-hint = Scrivete le coordinate e premete Crea, oppure compilate il resto e cliccate il luogo sulla mappa.
console-field-lat = Latitudine
console-field-lon = Longitudine
console-map-pick = Cliccate la mappa per creare la campagna in quel punto:
console-map-alt = Mappa delle aree bersaglio: cliccate per collocare la campagna
console-field-starts = Inizio (UTC)
console-field-ends = Fine (UTC)
console-create = Crea
console-donations = Donazioni ricevute nel { $year }
console-no-donations = Nessuna donazione quest'anno.
console-receipt = Ricevuta
console-date = Data
console-donor = Donatore
console-amount = Importo
console-voided = annullata
console-queue = Campagne da valutare
console-queue-empty = Niente da valutare.
console-approve = Approva
console-reject-reason = Motivo del rifiuto
console-reject = Respingi
console-funds = Fondi e finanziatori
console-funder = Finanziatore
fig-budget = Budget
fig-held = Trattenuto
fig-reserved = Riservato
fig-committed = Impegnato
fig-settled = Pagato
fig-available = Disponibile
console-settlements = Distinte di pagamento
console-no-settlements = Nessuna distinta per ora.
console-batch = Distinta
console-files = File
console-treasury = Mandati per la tesoreria (CSV)
console-admin = Amministrazione
console-admin-api = Aree, fondi, finanziatori, associazioni, utenti e partner si gestiscono tramite l'API:
role-admin = amministratore del programma
role-reviewer = valutatore
role-finance = ufficio ragioneria
role-association = socio dell'associazione
role-partner = partner
done-created = Campagna creata come bozza.
done-submitted = Campagna inviata per la valutazione.
done-approved = Campagna approvata.
done-rejected = Campagna respinta; l'associazione ne riceve il motivo.
donor-anonymous = Anonimo
donor-erased = (cancellato)
queue-goal = Obiettivo { $goal }
chart-label = Il budget di ogni finanziatore: pagato, impegnato e riservato
reconciliation-ok = Riconciliazione: tutti gli invarianti sono rispettati.
reconciliation-bad = { $count ->
    [one] Riconciliazione: un problema da verificare (GET /v1/reconciliation).
   *[other] Riconciliazione: { $shown } problemi da verificare (GET /v1/reconciliation).
}
console-create-batch = Crea una distinta dei cofinanziamenti impegnati
console-bank-reference = Riferimento della banca o della tesoreria
console-paid-on = Pagata il
console-confirm-paid = Conferma il pagamento
done-batch = Distinta creata in bozza: scaricate i file, pagate, poi confermatela.
done-paid = Distinta confermata come pagata.
admin-associations = Associazioni
admin-name = Nome
admin-tax-code = Codice fiscale
admin-email = E-mail
admin-runts = Numero RUNTS (facoltativo)
admin-add-association = Registra l'associazione
admin-staff = Personale del Comune
admin-role = Ruolo
admin-add-user = Aggiungi l'utente
admin-partners = Frontend partner
admin-webhook-url = URL del webhook (facoltativo)
admin-add-partner = Registra il partner
admin-areas = Aree bersaglio
admin-geojson = GeoJSON FeatureCollection (ogni elemento con code e name)
admin-import = Importa
admin-secrets = Partner registrato. I segreti si vedono solo ora: copiateli per il partner.
done-association = Associazione registrata.
done-user = Utente aggiunto.
done-areas = Aree importate.
history-label = { $fund }: riservato, impegnato e pagato nel tempo
edit-title = Modifica la campagna
edit-save = Salva
console-edit = Modifica
done-edited = Campagna salvata.
admin-funds = Fondi di cofinanziamento
admin-threshold = Soglia (quota dell'obiettivo raccolta dai donatori, 0–1)
admin-match = Cofinanziamento (quota dell'obiettivo aggiunta dal fondo, 0–1)
admin-max-match = Massimo per campagna (EUR, facoltativo)
admin-opens = Apertura (UTC)
admin-closes = Chiusura (UTC)
admin-eligible-areas = Aree bersaglio ammesse
admin-office = Ufficio competente
admin-official = Responsabile del procedimento
admin-siope = Codice SIOPE
admin-add-fund = Apri il fondo
admin-funders = Cofinanziatori
admin-kind = Tipo
admin-kind-private = Privato (fondazione, impresa)
admin-kind-public = Ente pubblico
admin-add-funder = Aggiungi il finanziatore
done-fund = Fondo aperto.
done-funder = Finanziatore aggiunto.
admin-members = Soci delle associazioni
admin-association = Associazione
admin-add-member = Aggiungi il socio
done-member = Socio aggiunto: può accedere da subito.
admin-users = Utenti
admin-disabled = disattivato
admin-active = attivo
admin-disable = Disattiva
done-disabled = Disattivato: le sue sessioni e i suoi token smettono di funzionare subito.
console-commitments = Impegni
console-award = Amministrazione trasparente
award-published = pubblicato
award-unpublished = in attesa dei campi del registro
commitment-committed = da pagare
commitment-in_batch = in una distinta in bozza
commitment-settled = pagato
grants-title = Contributi
grants-back-console = Torna alla console
grants-back-list = Tutti i contributi
grants-filter-status = Stato
grants-filter-any = Qualsiasi stato
grants-filter = Filtra
grants-none = Nessun contributo: un contributo si apre quando il cofinanziamento di una campagna è impegnato.
grants-none-filtered = Nessun contributo in questo stato.
grants-none-own = Nessun contributo: se ne apre uno quando una vostra campagna ha successo con il cofinanziamento.
grants-console-hint = Il contributo del Comune a ogni campagna riuscita, pagato sulla base della rendicontazione finale.
grants-all = Tutti i contributi
grants-to-approve = Rendiconti da approvare
grants-to-review = Contributi in riesame
grants-overdue = Rendiconti in ritardo
grant-title = Contributo
grant-campaign-page = Pagina della campagna
grant-advance-ratio = anticipo
grant-decision-reason = Motivo dell'ultima decisione:
grant-figures = Importi
grant-awarded = Concesso
grant-award = Concesso dopo le riduzioni
grant-goal = Costo del progetto (obiettivo)
grant-accepted = Spese ammesse
grant-due = Contributo spettante
grant-paid = Pagato
grant-payable = Pagabile ora
grant-in-batch = In una distinta in bozza
grant-not-yet-payable = Non ancora pagabile
grant-released = Restituito ai finanziatori
grant-recoverable = Da restituire
grant-recovered = Restituito
grant-report-due = Scadenza del rendiconto
grant-reported-on = Rendiconto presentato
grant-approved-on = Rendiconto approvato
grant-tranches = Tranche
grant-no-tranches = Nessuna tranche.
grant-tranche-kind = Tranche
grant-parts = Quote per finanziatore
grant-approve-title = Approva il rendiconto finale
grant-approve-hint = Prima va controllata ogni voce di spesa. Il contributo spettante diventa il concesso moltiplicato per le spese ammesse diviso l'obiettivo, al massimo il concesso; il resto torna ai finanziatori, il saldo diventa pagabile e quanto pagato oltre il dovuto va restituito.
grant-approve = Approva il rendiconto
grant-review-title = Decidi il riesame
grant-review-hint = Dopo la decisione sono uscite donazioni dalla campagna: nulla di questo contributo viene pagato finché non decidi.
grant-review-outcome = Decisione
grant-review-confirm = Conferma il contributo
grant-review-reduce = Riduci il contributo all'importo indicato
grant-review-revoke = Revoca il contributo
grant-review-amount = Nuovo importo (solo per ridurre)
grant-reason = Motivazione
grant-review-decide = Decidi
grant-recovery-title = Registra una restituzione
grant-recovery-hint = Ancora da restituire: { $amount }
grant-received-on = Ricevuto il
grant-recovery-record = Registra la restituzione
grant-revoke-title = Revoca il contributo
grant-revoke-hint = Non si paga più nulla: il concesso non pagato torna ai finanziatori e quanto pagato va restituito.
grant-revoke = Revoca
grant-status-open = aperto: l'associazione rendiconta le spese
grant-status-reported = rendiconto presentato
grant-status-approved = rendiconto approvato
grant-status-closed = chiuso
grant-status-overdue = rendiconto in ritardo
grant-status-under_review = in riesame
grant-status-revoked = revocato
grant-award-awarded = concesso
grant-award-reduced = ridotto
grant-award-revoked = revocato
grant-plan-on_commitment = pagato per intero all'impegno
grant-plan-tranches = pagato a tranche
tranche-kind-advance = anticipo
tranche-kind-balance = saldo
tranche-kind-full = intero contributo
tranche-status-payable = pagabile
tranche-status-in_batch = in una distinta in bozza
tranche-status-paid = pagata
tranche-status-cancelled = sostituita da una decisione successiva
done-grant-approved = Rendiconto approvato: il contributo spettante è fissato.
done-grant-reviewed = Riesame deciso.
done-grant-recovered = Restituzione registrata.
done-grant-revoked = Contributo revocato.
public-grant-title = Il contributo del Comune
public-grant-open = Il progetto è in corso: l'associazione rendiconterà le spese sostenute e il Comune paga il suo contributo sulla base del rendiconto.
public-grant-reported = L'associazione ha presentato il rendiconto finale: il Comune lo sta verificando.
public-grant-approved = Il Comune ha approvato il rendiconto finale e paga il suo contributo per le spese ammesse.
public-grant-closed = Il Comune ha approvato il rendiconto finale e ha pagato per intero il suo contributo.
public-grant-overdue = Il rendiconto finale dell'associazione è in ritardo: il Comune lo attende prima di pagare il resto.
public-grant-under_review = Dopo il successo della campagna alcune donazioni sono uscite: il contributo del Comune è sospeso mentre lo riesamina.
public-grant-revoked = Il Comune ha revocato il suo contributo a questo progetto.
public-grant-spending = Spese ammesse: { $accepted } su { $goal } (il costo del progetto).
public-grant-paid = Pagato finora dal Comune: { $paid } su { $award }.
report-documents = Documenti
report-no-documents = Nessun documento per ora.
report-filename = File
report-size = Dimensione
report-type = Tipo
report-upload-file = Un file PDF, JPEG o PNG (al massimo 10 MB)
report-upload-hint = Il file è riconosciuto dal contenuto; il nome serve solo a mostrarlo.
report-upload = Carica
report-expenses = Voci di spesa
report-no-expenses = Nessuna voce di spesa per ora.
report-category = Categoria
report-supplier = Fornitore
report-supplier-tax-code = Codice fiscale o partita IVA del fornitore (facoltativo)
report-document-number = Numero della fattura o ricevuta
report-document-date = Data del documento
report-paid-on = Pagata il
report-method = Modalità di pagamento
report-cited = Documenti citati
report-check = Verifica
report-accept = Accetta
report-reject = Respingi
report-add-expense = Aggiungi una voce di spesa
report-add = Aggiungi la voce
report-summary = Che cosa è stato fatto con i fondi
report-submit-title = Invia la rendicontazione finale
report-submit-hint = Dopo l'invio non si possono aggiungere documenti né voci di spesa: revisori e ragioneria verificano ogni voce, poi la ragioneria approva la rendicontazione.
report-submit = Invia la rendicontazione
payment-method-bank_transfer = bonifico
payment-method-card = carta
payment-method-cash = contanti
payment-method-cheque = assegno
payment-method-other = altro
expense-status-submitted = da verificare
expense-status-accepted = accettata
expense-status-rejected = respinta
done-grant-uploaded = Documento caricato.
done-grant-expense-added = Voce di spesa aggiunta.
done-grant-report-submitted = Rendicontazione finale inviata.
done-grant-checked = Voce di spesa verificata.
bank-title = Bonifici bancari
bank-console-hint = Importa gli estratti conto camt.053 della banca: ogni accredito che riporta il riferimento di una donazione la conferma.
bank-open = Estratti conto e accrediti
bank-import-title = Importa un estratto conto
bank-import-file = Estratto conto camt.053 (XML, al massimo 5 MB)
bank-import-hint = Scaricalo dall'home banking del conto dell'associazione: gli accrediti già importati non vengono registrati due volte.
bank-import = Importa l'estratto conto
bank-imported = Estratto conto importato: { $booked } accrediti registrati, { $already } già registrati; { $matched } abbinati, { $flagged } segnalati, { $unmatched } non abbinati.
bank-entries-title = Accrediti registrati
bank-none = Nessun accredito registrato.
bank-none-filtered = Nessun accredito in questo stato.
bank-reference = Riferimento
bank-debtor = Ordinante
bank-note = Nota
bank-more = Accrediti precedenti
bank-status-matched = abbinato
bank-status-flagged = segnalato
bank-status-unmatched = non abbinato
bank-status-assigned = assegnato
bank-unmatched-title = Accrediti bancari non abbinati
bank-finance-hint = Accrediti degli estratti conto delle associazioni che non riportano nessuna donazione in attesa: assegnali alla loro donazione.
bank-unmatched-open = Assegna gli accrediti non abbinati
bank-show = Mostra
bank-none-unmatched = Nessun accredito non abbinato per questa associazione.
bank-assign-hint = La donazione deve essere un bonifico in attesa a questa associazione, dello stesso importo.
bank-pledge-id = Id della donazione (plg_…)
bank-assign = Assegna
bank-done-assigned = Accredito assegnato: la donazione è confermata.
donate-method = Metodo di pagamento
donate-method-card = Carta (pagamento simulato)
donate-method-bank = Bonifico bancario
donate-method-bank-hint = Riceverai l'IBAN dell'associazione e un riferimento da indicare come causale del bonifico.
transfer-title = Paga con bonifico bancario
transfer-intro = La tua donazione è registrata e attende il bonifico. Invialo dalla tua banca con questi dati:
transfer-beneficiary = Beneficiario
transfer-reference = Riferimento
transfer-expires = In attesa fino al
transfer-causale = Scrivi il riferimento esattamente così come causale del bonifico: è così che l'associazione riconosce la tua donazione.
transfer-waits = Se il denaro non arriva entro il { $date }, la donazione decade.
transfer-back = Torna alla campagna

## Avvisi pubblici
call-title = Avviso pubblico
call-windows = Finestre di presentazione
call-window = Finestra
call-opens = Apertura
call-closes = Chiusura
call-criteria = Criteri di valutazione
call-criterion = Criterio
call-max-points = Punteggio massimo
call-rules = Sono ammesse, in ordine di graduatoria e finché il budget copre il loro possibile cofinanziamento, le domande con almeno { $pass } punti su { $max }; ogni domanda è valutata da { $evaluators } valutatori senza conflitto di interessi e a parità di punteggio precede la domanda presentata prima.
call-rankings = Graduatorie
call-no-ranking = Nessuna graduatoria è stata ancora pubblicata.
call-ranking-of = Finestra { $window }, versione { $version }, pubblicata il { $date }
call-rank = Posizione
call-project = Progetto
call-score = Punteggio
call-outcome = Esito
call-commission = Commissione di valutazione
call-api-hint = La stessa graduatoria come dati (JSON, o CSV con Accept: text/csv):
call-outcome-admitted = Ammessa
call-outcome-eligible_not_funded = Idonea non finanziata
call-outcome-below_pass_mark = Sotto la soglia
call-console-title = Avvisi pubblici
call-console-hint = Domande, dichiarazioni e punteggi della commissione, graduatorie e ricorsi.
call-console-open = Apri gli avvisi pubblici
call-my-assignments = Domande che valutate
call-no-assignments = Nessuna domanda vi è assegnata.
call-scored = valutata
call-not-scored = non valutata
call-conflict = conflitto di interessi dichiarato
call-no-conflict = nessun conflitto di interessi
call-undeclared = dichiarazione mancante
call-declare = Prima di valutare dichiarate se siete in conflitto di interessi con il proponente (art. 6-bis L. 241/1990)
call-note = Nota (facoltativa)
call-declare-submit = Dichiara
call-comment = Commento
call-score-submit = Salva i punteggi
call-no-calls = Nessun fondo ha ancora un avviso pubblico.
call-fund = Fondo
call-public-page = Pagina pubblica dell'avviso
call-publish = Pubblica la graduatoria della finestra { $window }
call-advance = Scorri la graduatoria della finestra { $window }
call-applications = Domande
call-no-applications = Ancora nessuna domanda.
call-assign = Nomina la commissione
call-appeals = Ricorsi da decidere
call-no-appeals = Nessun ricorso da decidere.
call-decision = Decisione
call-appeal-upheld = Accolto
call-appeal-dismissed = Respinto
call-appeal-pending = Ricorso in attesa
call-reason = Motivazione
call-decide = Decidi
call-my-applications = Le vostre domande
call-awaiting = In attesa della graduatoria
call-appeal-text = Perché l'esito va riesaminato
call-appeal = Presenta ricorso
call-done-declared = Dichiarazione registrata.
call-done-scored = Punteggi salvati.
call-done-assigned = Commissione nominata.
call-done-published = Graduatoria pubblicata.
call-done-advanced = Ammesse le domande successive che rientrano nel budget.
call-done-appealed = Ricorso inviato.
call-done-decided = Ricorso deciso.

## The embeddable badge
badge-line = { $raised } raccolti + { $match } dal Comune su { $goal }
badge-aria = { $title }: raccolti { $raised }, cofinanziamento del Comune { $match }, obiettivo { $goal }
badge-status-live = in corso
badge-status-closing = in chiusura
badge-status-succeeded = finanziata
badge-status-failed = non finanziata
badge-status-cancelled = annullata
badge-status-approved = in arrivo

## Project updates
updates-title = Novità dal progetto
updates-none = Ancora nessuna novità.
updates-form-title = Titolo della novità
updates-form-body = Cosa è successo
updates-form-hint = Solo testo; gli indirizzi web diventano link. Viene inviata per e-mail ai donatori che hanno accettato di essere contattati (al massimo 3 novità al giorno).
updates-form-send = Pubblica e invia
done-update = Novità pubblicata e inviata ai donatori che hanno accettato di essere contattati.

## Donors' own receipts
my-receipts-title = Le ricevute delle tue donazioni
my-receipts-intro = Indica l'indirizzo e-mail con cui hai donato: se ha donato tramite cofund, gli inviamo un link a tutte le sue ricevute, valido 24 ore e utilizzabile una volta sola.
my-receipts-email = Indirizzo e-mail
my-receipts-send = Inviami il link
my-receipts-sent = Se questo indirizzo ha donato, gli stiamo inviando un link alle sue ricevute. Funziona una volta sola, entro 24 ore.
my-receipts-confirm = Vuoi aprire ora le tue ricevute? Il link funziona una volta sola: stampa o salva la pagina che mostra.
my-receipts-open = Mostra le mie ricevute
my-receipts-gone = Questo link è già stato usato, è scaduto o non esiste.
my-receipts-again = Chiedi un nuovo link
my-receipts-print = Il link è stato usato: stampa questa pagina o salvala in PDF per la dichiarazione dei redditi.
my-receipts-none = Nessuna ricevuta da mostrare.
my-receipts-receipt = Ricevuta
my-receipts-issuer = Ente
my-receipts-donor = Donatore
my-receipts-tax-code = codice fiscale
my-receipts-refunded = Rimborsato
my-receipts-method = Modalità di pagamento
my-receipts-causale = Causale
my-receipts-law = Erogazione liberale ai sensi dell'art. 83 del D.Lgs. 117/2017, effettuata con mezzo di pagamento tracciabile.
nav-receipts = Le tue ricevute

## Navigazione, code e liste della console
cnav-label = Console
cnav-queue = Da fare ora
cnav-campaigns = Campagne
cnav-new-campaign = Nuova campagna
cnav-donations = Donazioni
cnav-grants = Contributi
cnav-bank-transfers = Bonifici
cnav-calls = Bandi
cnav-review = Istruttoria
cnav-funds = Fondi
cnav-settlements = Lotti di pagamento
cnav-bank-entries = Accrediti bancari
cnav-associations = Associazioni
cnav-staff = Personale
cnav-partners = Partner
cnav-setup = Impostazione di fondi e aree
queue-title = Da fare ora
queue-all-clear = Niente ti aspetta.
queue-to-review = { $count ->
    [one] Una campagna da esaminare
   *[other] { $shown } campagne da esaminare
}
queue-to-score = { $count ->
    [one] Una domanda da valutare
   *[other] { $shown } domande da valutare
}
queue-drafts = { $count ->
    [one] Una bozza di campagna da completare e inviare
   *[other] { $shown } bozze di campagna da completare e inviare
}
queue-rejected = { $count ->
    [one] Una campagna respinta dall'istruttoria
   *[other] { $shown } campagne respinte dall'istruttoria
}
queue-reports-due = { $count ->
    [one] Un contributo con la rendicontazione da presentare
   *[other] { $shown } contributi con la rendicontazione da presentare
}
queue-credits-to-match = { $count ->
    [one] Un accredito che non corrisponde a nessuna donazione
   *[other] { $shown } accrediti che non corrispondono a nessuna donazione
}
queue-reports-to-approve = { $count ->
    [one] Una rendicontazione da approvare
   *[other] { $shown } rendicontazioni da approvare
}
queue-grants-under-review = { $count ->
    [one] Un contributo in riesame
   *[other] { $shown } contributi in riesame
}
queue-tranches-payable = { $count ->
    [one] Una quota pagabile, non ancora in un lotto
   *[other] { $shown } quote pagabili, non ancora in un lotto
}
queue-batches-to-confirm = { $count ->
    [one] Un lotto da confermare come pagato
   *[other] { $shown } lotti da confermare come pagati
}
queue-credits-unclaimed = { $count ->
    [one] Un accredito non attribuito a nessuna donazione
   *[other] { $shown } accrediti non attribuiti a nessuna donazione
}
reconciliation-title = Riconciliazione
pager-label = Pagine
pager-position = Pagina { $page } di { $pages }
pager-prev = Pagina precedente
pager-next = Pagina successiva
filter-text = Contiene
list-filter = Filtra
filter-any = Qualsiasi stato
filter-none = Nessun risultato per questo filtro.
funds-intro = Il budget di ogni fondo e a che punto è; apri un fondo per i suoi finanziatori, gli impegni e la storia.
funds-open = Apri
settlements-filter = Stato
settlement-status-draft = Bozza, da confermare
settlement-status-confirmed = Confermato come pagato
people-intro = Le associazioni registrate in città e i loro soci.
staff-intro = Il personale del Comune che accede alla console.
partners-intro = Le piattaforme partner che raccolgono donazioni tramite l'API.
setup-intro = Nuovi fondi, i loro finanziatori e le aree obiettivo.
settlement-status-cancelled = Annullato
funds-to-batch = Somme impegnate in attesa di un lotto.
history-none = Nessuna somma di questo fondo è stata ancora riservata, impegnata o pagata.
